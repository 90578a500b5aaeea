"""Tables that fit the console: a table wider than the console is split into several.

rich shrinks a table that is too wide by cutting its cells (``2,14…``), which loses the
very numbers a reader wants. Instead the columns are dealt out, in order, to as many
tables as needed; each keeps the first column (the row's name) so it still reads alone.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

BORDER = 3
"""A column's padding (one space each side) and its border."""


def fitted(table: Table, console: Console) -> list[Table]:
    """``table`` as it is when it fits ``console``, else split by columns."""
    columns = table.columns
    needs = [_need(console, column) for column in columns]
    if sum(need + BORDER for need in needs) + 1 <= console.width or len(columns) < 3:
        return [table]
    groups: list[list[int]] = [[]]
    room = console.width - 1 - (needs[0] + BORDER)
    used = 0
    for index in range(1, len(columns)):
        if groups[-1] and used + needs[index] + BORDER > room:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += needs[index] + BORDER
    return [_part(table, [0, *group], first=number == 0) for number, group in enumerate(groups)]


def _need(console: Console, column: Column) -> int:
    """The width a column needs: its longest cell unbroken, and its header's longest word."""
    options = console.options
    header = Measurement.get(console, options, column.header).minimum
    cells = [Measurement.get(console, options, cell).maximum for cell in column.cells]
    return max([header, *cells])


def _part(table: Table, indexes: list[int], *, first: bool) -> Table:
    part = Table(
        title=table.title if first else None,
        title_justify=table.title_justify,
    )
    columns = [table.columns[index] for index in indexes]
    for column in columns:
        part.add_column(column.header, justify=column.justify, no_wrap=column is not columns[0])
    for cells in zip(*(list(column.cells) for column in columns), strict=True):
        part.add_row(*cells)
    return part
