package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// completionCmd prints the shell code that makes a shell complete this
// program's commands and flags. The completions themselves come from the
// program: the shell runs it with COMP_LINE set, and kongplete answers from
// the kong model, so they never go stale.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

// Help is the completion command's long help.
func (completionCmd) Help() string {
	return `Prints the code that makes the shell complete commands, flags and their
values (enumerations such as --format). Load it in the shell's start-up file:

  bash:  echo 'source <(cognito-mfa-migrate completion bash)' >> ~/.bashrc
  zsh:   echo 'source <(cognito-mfa-migrate completion zsh)' >> ~/.zshrc
  fish:  cognito-mfa-migrate completion fish > ~/.config/fish/completions/cognito-mfa-migrate.fish

The code names this binary by its absolute path; print it again after moving
the binary.`
}

// completionScripts are the shell snippets, after kongplete's
// InstallCompletions (which picks the shell from the login shell instead of
// being told). ${bin} is the binary's absolute path, ${cmd} its name.
var completionScripts = map[string]string{
	"bash": "complete -C ${bin} ${cmd}\n",
	"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C ${bin} ${cmd}\n",
	"fish": `function __complete_${fn}
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    ${bin}
end
complete -f -c ${cmd} -a "(__complete_${fn})"
`,
}

func (c *completionCmd) Run(a *app) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the path of this program: %w", err)
	}
	if b, err := filepath.EvalSymlinks(bin); err == nil {
		bin = b
	}
	vars := map[string]string{"bin": bin, "cmd": programName, "fn": strings.ReplaceAll(programName, "-", "_")}
	_, err = fmt.Fprint(a.stdout, os.Expand(completionScripts[c.Shell], func(s string) string {
		if v, ok := vars[s]; ok {
			return v
		}
		return "$" + s // the shell's own variables, such as fish's $COMP_LINE
	}))
	return err
}

// complete answers a shell's completion request (COMP_LINE is set) on
// stdout and ends the program with exit 0; without COMP_LINE it does
// nothing.
func complete(p *kong.Kong, getenv func(string) string) {
	if getenv("COMP_LINE") == "" {
		return
	}
	kongplete.Complete(p)
}
