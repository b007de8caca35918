"""Reading the list files of data sets given as lists of images."""
import os.path as osp
from typing import Iterator, List, Sequence, Tuple

# How many missing files an error names before it only counts the rest.
MAX_LISTED_MISSING = 10


def read_list_lines(path: str, num_fields: int,
                    line_format: str) -> Iterator[Tuple[int, List[str]]]:
    """Yield the data lines of a list file, split at white space.

    Blank lines and lines starting with ``#`` are skipped, so the files may
    carry comments.

    Args:
        path (str): The list file.
        num_fields (int): How many fields every data line must have.
        line_format (str): The expected line, for error messages, e.g.
            ``'<path> <pid>'``.

    Yields:
        tuple[int, list[str]]: The 1-based line number and the fields.

    Raises:
        ValueError: If a data line has another number of fields; the
            message names the file and the line.
    """
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            fields = line.split()
            if len(fields) != num_fields:
                raise ValueError(
                    f'{path}, line {lineno}: expected {num_fields} fields, '
                    f'{line_format!r} separated by white space, but got '
                    f'{line!r}.')
            yield lineno, fields


def parse_int_field(value: str, what: str, path: str, lineno: int,
                    line_format: str) -> int:
    """Read an integer field of a list line, naming the line if it fails.

    Args:
        value (str): The field.
        what (str): Its name in messages, e.g. ``'pid'``.
        path (str): The list file, for messages.
        lineno (int): The line number, for messages.
        line_format (str): The expected line, for messages.

    Returns:
        int: The value.

    Raises:
        ValueError: If the field is not an integer.
    """
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f'{path}, line {lineno}: the {what} {value!r} is '
            f'not an integer; expected {line_format!r}.') from None


def check_files_exist(paths: Sequence[str], source: str) -> None:
    """Raise one error that lists the images which do not exist.

    Args:
        paths (Sequence[str]): Image paths to check.
        source (str): Where the paths came from, for the message.

    Raises:
        FileNotFoundError: If any path is not a file.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if not missing:
        return
    listed = ', '.join(repr(p) for p in missing[:MAX_LISTED_MISSING])
    more = len(missing) - MAX_LISTED_MISSING
    tail = f' and {more} more' if more > 0 else ''
    raise FileNotFoundError(
        f'{len(missing)} of the {len(paths)} images listed in {source} do '
        f'not exist: {listed}{tail}.')
