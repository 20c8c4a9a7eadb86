"""Batching for the analysis task, keeping what a plain acks-late task guarantees.

celery-batches buffers the messages a worker has prefetched (bounded by the prefetch limit) and runs them
as one task call in a pool process. On top of it, this class:

- dispatches a batch only when a pool process is free, so messages wait in the buffer and the next batch
  takes all of them (up to ``flush_every``) instead of queueing many small batches in the pool;
- acknowledges every message only after its batch returned (acks-late);
- when the pool process dies mid-batch (SIGKILL, segfault, OOM kill), rejects and requeues every message
  of that batch, like ``reject_on_worker_lost`` does for a plain task;
- runs a redelivered message (one that was in a batch whose process died, or whose visibility timeout
  passed) alone, so a photo that crashes the process cannot take innocent scans down with it again and
  uses up only its own attempts.
"""

import logging
from itertools import count
from time import monotonic

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery.utils.time import timezone
from celery_batches import Batches, SimpleRequest, consume_queue
from celery_batches.trace import apply_batches_task
from kombu.asynchronous.timer import to_timestamp

logger = logging.getLogger(__name__)


class CrashIsolatingBatches(Batches):
    abstract = True

    def __init__(self):
        super().__init__()
        self._running = 0  # batches handed to the pool and not yet returned
        self._flushing = False

    def _free_slots(self):
        limit = getattr(self._pool, "num_processes", None) or getattr(self._pool, "limit", None) or 1
        return max(0, int(limit) - self._running)

    def _ready_requests(self):
        """Buffered requests whose ETA (retry countdown) has passed; the others go back to pending."""
        now = monotonic()
        ready = []
        for req in list(consume_queue(self._buffer)) + list(consume_queue(self._pending)):
            if req.eta:
                try:
                    if req.utc:
                        eta = to_timestamp(timezone.to_system(req.eta))
                    else:
                        eta = to_timestamp(req.eta, self.app.timezone)
                except (OverflowError, ValueError):
                    logger.error("dropping a message with an unreadable ETA: %r", req.info(safe=True))
                    req.reject(requeue=False)
                    continue
                if eta > now:
                    self._pending.put(req)
                    continue
            ready.append(req)
        return ready

    def _do_flush(self):
        if self._flushing:  # re-entered from a callback of a synchronous pool (solo): the outer call goes on
            return
        self._flushing = True
        try:
            ready = self._ready_requests()
            redelivered = [r for r in ready if (r.delivery_info or {}).get("redelivered")]
            fresh = [r for r in ready if not (r.delivery_info or {}).get("redelivered")]
            batches = [[r] for r in redelivered]
            batches += [fresh[i : i + self.flush_every] for i in range(0, len(fresh), self.flush_every)]
            while batches and self._free_slots():
                self._dispatch(batches.pop(0))
            for batch in batches:  # no free process: they wait, and join the next batch
                for req in batch:
                    self._pending.put(req)
            self._count = count(self._pending.qsize() + 1)
            if self._pending.qsize() == 0 and self._buffer.qsize() == 0 and self._tref:
                self._tref.cancel()
                self._tref = None
        finally:
            self._flushing = False

    def flush(self, requests):
        # celery-batches' own entry point: route it through the same crash-isolating dispatch.
        for req in requests:
            self._pending.put(req)
        self._do_flush()

    def _dispatch(self, requests):
        simple = ([SimpleRequest.from_request(r) for r in requests],)
        acks_late = [r for r in requests if r.task.acks_late]
        acks_early = [r for r in requests if not r.task.acks_late]
        self._running += 1

        def on_accepted(pid, time_accepted):
            for req in acks_early:
                req.acknowledge()

        def on_return(result):
            self._running -= 1
            for req in acks_late:
                req.acknowledge()
            self._do_flush()

        def on_error(exc_info):
            self._running -= 1
            exc = getattr(exc_info, "exception", exc_info)
            if isinstance(exc, ExceptionWithTraceback):
                exc = exc.exc
            lost = isinstance(exc, WorkerLostError)
            logger.error("batch of %d scan message(s) lost its process (%r); %s", len(requests), exc,
                         "requeued" if lost else "acknowledged")
            for req in acks_late:
                if lost and req.task.reject_on_worker_lost:
                    req.reject(requeue=True)  # redelivered, and then run alone
                else:
                    req.acknowledge()
            self._do_flush()

        return self._pool.apply_async(
            apply_batches_task,
            (self, simple, 0, None),
            accept_callback=on_accepted,
            callback=on_return,
            error_callback=on_error,
        )
