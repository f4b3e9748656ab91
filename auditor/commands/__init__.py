"""One module per subcommand: NAME, HELP and `run` (typer-annotated), kept thin."""
