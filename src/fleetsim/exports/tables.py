"""Rows as typed tables: CSV text, Arrow record batches, Parquet files, pandas frames.

Every table starts with the identity columns (scenario, variant, seed): files of many
runs can be concatenated and still say where each row came from. The identity is added
as the rows are written, in batches, never by copying the run's rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from fleetsim.exports.columns import Column, Identity

if TYPE_CHECKING:
    import pandas

BATCH_ROWS = 65_536


def cells(row: dict[str, Any], columns: list[Column], identity: Identity) -> list[Any]:
    """One row's values in column order, the identity columns from ``identity``."""
    return [identity[c.name] if c.name in identity else row.get(c.name) for c in columns]


def write_csv(
    stream: IO[str], rows: list[dict[str, Any]], columns: list[Column], identity: Identity
) -> None:
    """A header and one line per row; a missing or None value is an empty field."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow(cells(row, columns, identity))


def arrow_schema(columns: list[Column]) -> Any:
    """The Arrow schema: each column's type, and its unit and meaning as field metadata."""
    import pyarrow as pa

    types = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}
    return pa.schema(
        [
            pa.field(
                column.name,
                types[column.type],
                nullable=True,
                metadata={"unit": column.unit, "description": column.description},
            )
            for column in columns
        ]
    )


def record_batches(
    rows: list[dict[str, Any]], columns: list[Column], identity: Identity, schema: Any
) -> Iterator[Any]:
    """The rows as record batches of at most ``BATCH_ROWS`` rows."""
    import pyarrow as pa

    for start in range(0, len(rows), BATCH_ROWS):
        chunk = rows[start : start + BATCH_ROWS]
        arrays = []
        values: list[Any]
        for column, field in zip(columns, schema, strict=True):
            if column.name in identity:
                values = [identity[column.name]] * len(chunk)
            else:
                values = [row.get(column.name) for row in chunk]
            arrays.append(pa.array(values, type=field.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def write_parquet(
    path: Path, rows: list[dict[str, Any]], columns: list[Column], identity: Identity
) -> None:
    """Write the rows to ``path`` batch by batch (memory holds one batch at a time)."""
    import pyarrow.parquet as pq

    schema = arrow_schema(columns)
    with pq.ParquetWriter(path, schema) as writer:
        for batch in record_batches(rows, columns, identity, schema):
            writer.write_batch(batch)
        if not rows:
            writer.write_table(schema.empty_table())


def data_frame(
    rows: list[dict[str, Any]], columns: list[Column], identity: Identity
) -> pandas.DataFrame:
    """The rows as a DataFrame: integer columns as nullable ``Int64`` (a missing value
    stays missing rather than turning the column into floats), units in ``attrs``."""
    import pandas as pd
    import pyarrow as pa

    schema = arrow_schema(columns)
    table = pa.Table.from_batches(list(record_batches(rows, columns, identity, schema)), schema)
    frame: pd.DataFrame = table.to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype()}.get,
    )
    frame.attrs["units"] = {column.name: column.unit for column in columns if column.unit}
    return frame
