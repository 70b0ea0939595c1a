"""``python -m bulkdelete.emulator``: the same as ``bulkdelete emulator``."""

from bulkdelete.emulator.cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m bulkdelete.emulator")
