//go:build unix

package diskusage

import "golang.org/x/sys/unix"

func of(path string) (Usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Usage{}, err
	}
	bs := uint64(st.Bsize) //nolint:unconvert // int64 on linux, uint32 on darwin
	total := uint64(st.Blocks) * bs
	free := uint64(st.Bavail) * bs
	used := (uint64(st.Blocks) - uint64(st.Bfree)) * bs
	return Usage{Total: total, Free: free, Used: used}, nil
}
