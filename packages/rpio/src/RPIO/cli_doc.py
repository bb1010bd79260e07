"""``rpio completion bash|zsh`` and ``rpio man``: shell completion and the man page, both made
from the parsers themselves, so they never drift from the command.

::

    rpio completion bash > /etc/bash_completion.d/rpio     (or: eval "$(rpio completion bash)")
    rpio man | man -l -                                     (or: rpio man > rpio.1)
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import Dict, List, Optional, Sequence

from .cli_common import EXIT_STATUS_HELP  # noqa: F401  (the scheme the page describes)


def command_parsers() -> Dict[str, argparse.ArgumentParser]:
    """Every parser of the command: "" for the top level, then each subcommand by name."""
    from . import cli, cli_pinout, cli_sim, cli_verbs

    parsers: Dict[str, argparse.ArgumentParser] = {"": cli.build_parser()}
    parsers.update(cli_verbs.build_parsers())
    sim = cli_sim.build_parser()
    parsers["sim"] = sim
    for action in sim._actions:  # the sim subcommands (argparse keeps them in _SubParsersAction)
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parsers[f"sim {name}"] = sub
    parsers["pinout"] = cli_pinout.build_parser()
    from .selftest import cli as selftest_cli

    parsers["selftest"] = selftest_cli.build_parser()
    try:
        from .mqtt import cli as mqtt_cli
    except ImportError:  # pragma: no cover - the mqtt extra's client is not installed
        pass
    else:
        parsers["mqtt"] = mqtt_cli.build_parser()
    parsers["completion"] = completion_parser()
    parsers["man"] = man_parser()
    return parsers


def _options(parser: argparse.ArgumentParser) -> List[str]:
    return sorted(opt for action in parser._actions for opt in action.option_strings)


def completion_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rpio completion",
                                     description="Print a shell completion script for rpio.")
    parser.add_argument("shell", choices=("bash", "zsh"))
    return parser


def man_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="rpio man",
                                   description="Print rpio's man page (roff): rpio man | man -l -")


def bash_completion() -> str:
    parsers = command_parsers()
    top = [name for name in parsers if name and " " not in name]
    sim_commands = [name.split(" ", 1)[1] for name in parsers if name.startswith("sim ")]
    lines = [
        "# bash completion for rpio (made by `rpio completion bash`)",
        "_rpio() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" words',
        '    local cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}"',
        "    if [ \"$COMP_CWORD\" -eq 1 ]; then",
        f"        words=\"{' '.join(top + _options(parsers['']))}\"",
        '    else',
        '        case "$cmd" in',
    ]
    for name in top:
        if name == "sim":
            lines.append("            sim)")
            lines.append("                if [ \"$COMP_CWORD\" -eq 2 ]; then")
            lines.append(f"                    words=\"{' '.join(sim_commands)}\"")
            lines.append("                else case \"$sub\" in")
            for sub in sim_commands:
                lines.append(f"                    {sub}) words=\"{' '.join(_options(parsers['sim ' + sub]))}\";;")
            lines.append("                esac; fi;;")
        elif name == "completion":
            lines.append("            completion) words=\"bash zsh\";;")
        else:
            lines.append(f"            {name}) words=\"{' '.join(_options(parsers[name]))}\";;")
    lines += [
        f"            *) words=\"{' '.join(_options(parsers['']))}\";;",
        "        esac",
        "    fi",
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        "complete -F _rpio rpio",
        "",
    ]
    return "\n".join(lines)


def zsh_completion() -> str:
    # zsh runs bash completion functions through bashcompinit.
    return "autoload -U +X bashcompinit && bashcompinit\n" + bash_completion()


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line
                     for line in text.splitlines())


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().replace("usage: ", "", 1)
    return _roff("\n".join(line.strip() for line in usage.strip().splitlines()))


def _option_entries(parser: argparse.ArgumentParser) -> List[str]:
    lines: List[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            metavar = ""
            if action.nargs != 0:
                metavar = " " + (action.metavar or action.dest.upper())
            head = ", ".join(f"\\fB{_roff(opt)}\\fR{_roff(metavar)}" for opt in action.option_strings)
        else:
            head = f"\\fI{_roff(str(action.metavar or action.dest))}\\fR"
        lines += [".TP", head, _roff(action.help or "")]
    return lines


def man_page(date: Optional[datetime.date] = None) -> str:
    """rpio(1) in roff, made from every parser of the command."""
    from . import __version__

    parsers = command_parsers()
    date = date or datetime.date.today()
    top = parsers[""]
    out = [
        f'.TH RPIO 1 "{date.isoformat()}" "RPIO {__version__}" "User Commands"',
        ".SH NAME",
        "rpio \\- inspect, set and watch the GPIOs of a Raspberry Pi, or of RPIO's simulated board",
        ".SH SYNOPSIS",
        ".nf",
        _usage(top),
        ".fi",
        ".SH DESCRIPTION",
        _roff(top.description or ""),
        ".SH OPTIONS",
        *_option_entries(top),
        ".SH COMMANDS",
    ]
    for name, parser in parsers.items():
        if not name:
            continue
        out += [".SS " + _roff(f"rpio {name}"), _roff(parser.description or ""), ".PP", ".nf",
                _usage(parser), ".fi",
                *_option_entries(parser)]
    out += [
        ".SH EXIT STATUS",
        ".TP", "0", "done (a monitor stopped by Ctrl\\-C or SIGTERM is done too)",
        ".TP", "1", "the command could not be carried out",
        ".TP", "2", "the command line is wrong",
        ".TP", "5", "a GPIO this board does not have (RPIO 0.10's status)",
        ".TP", "141", "standard output was closed early",
        ".SH ENVIRONMENT",
        ".TP", "RPIO_BACKEND", "auto (default), hardware or sim",
        ".TP", "RPIO_SIM_BOARD", "the simulated model (a revision code or an alias: pi3, pi4, pi5)",
        ".TP", "RPIO_SIM_SHARED", "the shared simulated board to use (as \\-\\-sim NAME)",
        ".TP", "RPIO_SIM_CONFIG", "a board file (TOML) to build the simulated board from",
        ".SH EXAMPLES",
        ".nf",
        "rpio info", "rpio get 17 27", "rpio set 17=1", "rpio mon \\-\\-edge rising 17",
        "rpio \\-I", "rpio \\-\\-setoutput 17:1", "rpio pinout",
        "RPIO_SIM_SHARED=bench python3 doorbell.py & rpio sim drive 17 0 \\-\\-board bench",
        ".fi",
        ".SH SEE ALSO",
        "gpioinfo(1), gpioget(1), gpioset(1), gpiomon(1), pinctrl(1)",
        "",
    ]
    return "\n".join(out)


def completion_main(argv: Sequence[str], out=None) -> int:
    out = sys.stdout if out is None else out
    args = completion_parser().parse_args(list(argv))
    out.write(bash_completion() if args.shell == "bash" else zsh_completion())
    return 0


def man_main(argv: Sequence[str], out=None) -> int:
    out = sys.stdout if out is None else out
    man_parser().parse_args(list(argv))
    out.write(man_page())
    return 0
