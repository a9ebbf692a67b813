"""dlt's rest_api source over the Omnidesk sandbox: the same list pages and GET item per ticket.

    python benchmarks/dlt_omnidesk.py BASE_URL PIPELINES_DIR --workers 8   (BENCH_API_KEY: env)

Run with an interpreter that has dlt (``pip install -e '.[bench]'``). Parquet files, loaded into
DuckDB; the ticket items are a parallelized child resource, ``--workers`` extract threads.
"""

from __future__ import annotations

import argparse
import os

import dlt
from dlt.sources.rest_api import rest_api_source


def source(base_url: str) -> object:
    return rest_api_source(
        {
            "client": {
                "base_url": f"{base_url}/api/v2/",
                "auth": {
                    "type": "api_key",
                    "name": "apiKey",
                    "api_key": os.environ["BENCH_API_KEY"],
                    "location": "query",
                },
            },
            "resources": [
                {
                    "name": "ticket_list",
                    "endpoint": {
                        "path": "ticket",
                        "params": {"searchArchived": "yes"},
                        "data_selector": "list",
                        "paginator": {
                            "type": "offset",
                            "limit": 5000,
                            "offset_param": "itemStart",
                            "limit_param": "itemLimit",
                            "total_path": "total",
                        },
                    },
                    "selected": False,
                },
                {
                    "name": "tickets",
                    "parallelized": True,
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "ticket/{resources.ticket_list.id}",
                        "data_selector": "item",
                    },
                },
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("pipelines_dir")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    os.environ["EXTRACT__WORKERS"] = str(args.workers)
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.duckdb(f"{args.pipelines_dir}/dlt.duckdb"),
        dataset_name="omnidesk",
        pipelines_dir=args.pipelines_dir,
    )
    info = pipeline.run(source(args.base_url), loader_file_format="parquet")
    print(
        pipeline.last_trace.last_normalize_info.row_counts.get("tickets", 0), info.has_failed_jobs
    )


if __name__ == "__main__":
    main()
