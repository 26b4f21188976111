"""``provisioner completion bash|zsh|fish``: print the shell completion script."""

from __future__ import annotations

import click

_HOW = {
    "bash": 'eval "$(provisioner completion bash)"      # in ~/.bashrc',
    "zsh": 'eval "$(provisioner completion zsh)"       # in ~/.zshrc (after compinit)',
    "fish": "provisioner completion fish > ~/.config/fish/completions/provisioner.fish",
}


@click.command(name="completion")
@click.argument("shell", type=click.Choice(sorted(_HOW)))
def command(shell: str) -> int:
    """Print the completion script for SHELL (commands, options, choices and paths).

    \b
      bash:  eval "$(provisioner completion bash)"   (e.g. in ~/.bashrc)
      zsh:   eval "$(provisioner completion zsh)"    (in ~/.zshrc, after compinit)
      fish:  provisioner completion fish > ~/.config/fish/completions/provisioner.fish
    """
    from click.shell_completion import get_completion_class

    from provisioner.cli import cli

    completion_class = get_completion_class(shell)
    assert completion_class is not None  # the choice above lists only supported shells
    script = completion_class(cli, {}, "provisioner", "_PROVISIONER_COMPLETE").source()
    click.echo(script)
    return 0
