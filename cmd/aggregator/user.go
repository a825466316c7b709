package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage users from the command line",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the password is read from standard input",
		Long: `Create a user in the configured metadata store. The password is read from
standard input: typed without echo when standard input is a terminal (asked twice),
otherwise the first line (so it never appears in the process list or shell history).
Roles: ` + strings.Join(roleNames(), ", ") + `.`,
		Example: `  aggregator user create --username ana --email ana@example.com --role designer
  printf '%s\n' "$PASSWORD" | aggregator user create --username ci --email ci@example.com --role executor`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			username, _ := fs.GetString("username")
			email, _ := fs.GetString("email")
			fullName, _ := fs.GetString("full-name")
			roleName, _ := fs.GetString("role")
			role, err := auth.ParseRole(roleName)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			password, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			u, err := app.CreateUser(cmd.Context(), cfg, cliLogger(cfg, cmd.ErrOrStderr()), auth.NewUser{
				Username: username, Email: email, FullName: fullName, Role: role, Password: password,
			})
			if err != nil {
				var ce *store.ConflictError
				if errors.As(err, &ce) && ce.Field != "" {
					return fmt.Errorf("create user: %s %q is already taken", ce.Field, map[string]string{"username": username, "email": email}[ce.Field])
				}
				return fmt.Errorf("create user: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s) with role %s, id %s\n", u.Username, u.Email, u.Role, u.ID)
			return nil
		},
	}
	fs := create.Flags()
	fs.String("username", "", "login name (letters, digits, '.', '_', '-')")
	fs.String("email", "", "email address")
	fs.String("role", "", "one of "+strings.Join(roleNames(), ", "))
	fs.String("full-name", "", "display name (optional)")
	for _, f := range []string{"username", "email", "role"} {
		_ = create.MarkFlagRequired(f)
	}
	cmd.AddCommand(create)
	return cmd
}

func roleNames() []string {
	var out []string
	for _, r := range auth.Roles() {
		out = append(out, string(r))
	}
	return out
}

// readPassword reads the password without echo from a terminal (twice, to
// confirm), or the first line of a pipe or file.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "Repeat password: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ")
		}
		if len(p1) == 0 {
			return "", errors.New("password is empty")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: pipe it in, or run in a terminal to type it")
	}
	return line, nil
}
