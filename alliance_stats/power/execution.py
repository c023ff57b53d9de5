"""Running batches of replicates: serially, with joblib or on a Dask cluster."""

from __future__ import annotations

from alliance_stats.errors import InputError
from alliance_stats.power.replicates import run_replicate


class Executor:
    """Runs lists of tasks serially, with joblib or on Dask; always returns results in order."""

    def __init__(self, n_jobs, scheduler):
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.client = None
        self.own_client = False
        self.pool = None

    def __enter__(self):
        if self.scheduler is not None:
            from alliance_stats.errors import require

            distributed = require("distributed", "distributed", "Running on a Dask cluster")
            if isinstance(self.scheduler, str):
                try:
                    self.client = distributed.Client(self.scheduler, timeout="20s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise InputError(
                        f"could not connect to the Dask scheduler {self.scheduler!r} ({exc}); "
                        "give its address as 'tcp://host:port' or pass a dask.distributed.Client"
                    ) from exc
                self.own_client = True
            elif isinstance(self.scheduler, distributed.Client):
                self.client = self.scheduler
            else:
                raise InputError(
                    "scheduler must be a Dask scheduler address ('tcp://host:port'), a "
                    f"dask.distributed.Client or None; got {self.scheduler!r}"
                )
        elif self.n_jobs != 1:
            import joblib

            self.pool = joblib.Parallel(n_jobs=self.n_jobs, return_as="generator")
            self.pool.__enter__()
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.__exit__(*exc)
        if self.own_client and self.client is not None:
            self.client.close()

    @property
    def kind(self) -> str:
        if self.client is not None:
            return "dask"
        return "joblib" if self.pool is not None else "serial"

    def run(self, tasks: list, progress) -> list:
        if not tasks:
            return []
        if self.client is not None:
            from distributed import as_completed

            futures = self.client.map(run_replicate, tasks, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            out: list = [None] * len(tasks)
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                progress.update(1)
            return out
        if self.pool is not None:
            import joblib

            out = []
            for rec in self.pool(joblib.delayed(run_replicate)(t) for t in tasks):
                out.append(rec)
                progress.update(1)
            return out
        out = []
        for t in tasks:
            out.append(run_replicate(t))
            progress.update(1)
        return out


class NoProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass
