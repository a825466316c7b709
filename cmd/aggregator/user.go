package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

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
			admin, closeStore, err := app.UserAdmin(cmd.Context(), cfg, cliLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer closeStore()
			u, err := admin.Create(cmd.Context(), auth.NewUser{
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
	cmd.AddCommand(create, newUserListCmd(), newUserSetPasswordCmd(), newUserStateCmd(false), newUserStateCmd(true))
	return cmd
}

// withAdmin loads the configuration, opens the store and runs fn with the
// CLI's user management.
func withAdmin(cmd *cobra.Command, fn func(ctx context.Context, a *auth.Admin) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	admin, closeStore, err := app.UserAdmin(cmd.Context(), cfg, cliLogger(cfg, cmd.ErrOrStderr()))
	if err != nil {
		return err
	}
	defer closeStore()
	return fn(cmd.Context(), admin)
}

// userJSON is one user in `user list --json`. It never carries the password hash.
type userJSON struct {
	ID                 string     `json:"id"`
	Username           string     `json:"username"`
	Email              string     `json:"email"`
	FullName           string     `json:"full_name"`
	Role               string     `json:"role"`
	Active             bool       `json:"active"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	LastLoginAt        *time.Time `json:"last_login_at"`
}

func newUserListCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List every user: name, role, state, must change password, created, last login",
		Example: `  aggregator user list
  aggregator user list --json | jq -r '.[] | select(.role == "admin") | .username'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, _ := cmd.Flags().GetBool("json")
			return withAdmin(cmd, func(ctx context.Context, a *auth.Admin) error {
				users, err := a.List(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					items := make([]userJSON, len(users))
					for i, u := range users {
						items[i] = userJSON{ID: u.ID, Username: u.Username, Email: u.Email, FullName: u.FullName, Role: u.Role,
							Active: u.Active, MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt}
					}
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(items)
				}
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tEMAIL\tROLE\tSTATE\tMUST CHANGE PASSWORD\tCREATED\tLAST LOGIN")
				for _, u := range users {
					state, must, last := "active", "no", "never"
					if !u.Active {
						state = "deactivated"
					}
					if u.MustChangePassword {
						must = "yes"
					}
					if u.LastLoginAt != nil {
						last = u.LastLoginAt.UTC().Format(time.DateTime + "Z")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Email, u.Role, state, must,
						u.CreatedAt.UTC().Format(time.DateTime+"Z"), last)
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().Bool("json", false, "print a JSON array instead of a table")
	return c
}

func newUserSetPasswordCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a user's password (read from standard input) and end their sessions",
		Long: `Set the password of the user NAME (username or email). The password is read from
standard input: typed without echo when standard input is a terminal (asked twice),
otherwise the first line. It must meet the password policy (at least 12 characters,
not the username, not a common password; the message names each rule it breaks).
Every session of the user ends: refresh tokens are revoked, and access tokens
issued in them are refused from the next request. With --temporary the user must
change the password at the next sign-in; without it that requirement is cleared.`,
		Example: `  aggregator user set-password ana
  printf '%s\n' "$NEW_PASSWORD" | aggregator user set-password ana --temporary`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			temporary, _ := cmd.Flags().GetBool("temporary")
			return withAdmin(cmd, func(ctx context.Context, a *auth.Admin) error {
				password, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				u, err := a.SetPassword(ctx, args[0], password, temporary)
				if err != nil {
					return fmt.Errorf("set password: %w", err)
				}
				note := "the password is permanent"
				if u.MustChangePassword {
					note = "the user must change it at the next sign-in"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s set; their sessions were ended; %s\n", u.Username, note)
				return nil
			})
		},
	}
	c.Flags().Bool("temporary", false, "make the user change the password at the next sign-in")
	return c
}

// newUserStateCmd is `user deactivate` (activate false) or `user activate`.
func newUserStateCmd(activate bool) *cobra.Command {
	c := &cobra.Command{
		Use:   "deactivate NAME",
		Short: "Deactivate a user: no sign-in, sessions and API tokens revoked at once",
		Long: `Deactivate the user NAME (username or email): they can no longer sign in, and their
sessions, access tokens and API tokens stop working from the next request.
The last active admin cannot be deactivated.`,
		Args: cobra.ExactArgs(1),
	}
	if activate {
		c.Use, c.Short = "activate NAME", "Let a deactivated user sign in again"
		c.Long = `Activate the user NAME (username or email) so that they can sign in again.
Sessions and API tokens revoked on deactivation stay revoked.`
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return withAdmin(cmd, func(ctx context.Context, a *auth.Admin) error {
			op, verb := a.Deactivate, "deactivated"
			if activate {
				op, verb = a.Activate, "activated"
			}
			u, err := op(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, u.Username)
			return nil
		})
	}
	return c
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
