package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
)

// Bad uploads get a clear problem: a 0-byte file names the file and says it is empty; a file over
// the (configured, here 64 KiB) limit names the limit and the setting; a 2 GB upload is refused from
// its declared size before any of its body is read.
func TestUploadBadSizes(t *testing.T) {
	e := setup(t, setupOptions{})
	designer := e.tokens[auth.RoleDesigner]
	upload := func(name string, content []byte) response {
		body, ct := multipartBody("file", name, content)
		return e.do(http.MethodPost, "/api/v1/files", designer, body, "Content-Type", ct)
	}
	cases := []struct {
		name, file string
		content    []byte
		status     int
		detail     []string
	}{
		{"empty", "empty.csv", nil, http.StatusUnprocessableEntity, []string{`"empty.csv" is empty (0 bytes)`, "body.file"}},
		{"over the limit", "big.csv", []byte(strings.Repeat("1,2,3\n", testMaxUpload/6+10)), http.StatusRequestEntityTooLarge,
			[]string{"larger than the upload limit of 64 KiB (MAX_UPLOAD_BYTES)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := upload(tc.file, tc.content)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			p := r.problem(t)
			for _, want := range tc.detail {
				if !strings.Contains(p.Detail, want) {
					t.Errorf("detail %q lacks %q", p.Detail, want)
				}
			}
		})
	}

	// A declared 2 GiB body: the answer comes although only a few bytes were sent.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // bounds a regression (a server waiting for the body)
	fmt.Fprintf(conn, "POST /api/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: %d\r\n\r\n"+
		"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\n\r\na,b\n",
		designer, int64(2)<<30)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a declared 2 GiB upload: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var p problem
	if err := json.Unmarshal(raw, &p); err != nil || res.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") ||
		!strings.Contains(p.Detail, "the upload is 2 GiB, more than the upload limit of 64 KiB (MAX_UPLOAD_BYTES)") {
		t.Fatalf("declared 2 GiB: %d %s", res.StatusCode, raw)
	}
	// Nothing was left in the upload directory.
	if entries, _ := os.ReadDir(e.data.deps.UploadDir); len(entries) != 0 {
		t.Fatalf("upload dir holds %d entries", len(entries))
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 64 << 10: "64 KiB", 100 << 20: "100 MiB",
		2 << 30: "2 GiB", 1536: "1.5 KiB"} {
		if got := sizeText(n); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
