"""LLM users: requests measured in tokens (TTFT, ITL, TPOT, end to end, goodput), on the OpenAI route
and on /run + /stream. Each user's scheduled send is one generation; its stream is read line by line
and every token event is time-stamped as it arrives (`_llm.py` holds the definitions)."""

from __future__ import annotations

import random
import time
from typing import Any

import gevent

from locustfiles._arrival import KernelTimes
from locustfiles._base import FINAL, LABELS, PodbenchUser, configure
from locustfiles._llm import Sizes as LlmSizes
from locustfiles._llm import (
    SseReader,
    TokenSample,
    answer_tokens,
    build_call,
    llm_row,
    slo_from,
    stream_chunk_tokens,
)
from locustfiles._runtime import RUNTIME

READ_LINE = b"\n"


def _sizes(spec: dict[str, Any] | None) -> LlmSizes:
    spec = spec or {}
    return LlmSizes(
        max_tokens=spec.get("max_tokens"),
        prompt_tokens=spec.get("prompt_tokens"),
        prompts=tuple(spec.get("prompts", ())),
        model=str(spec.get("model", "podbench-llm")),
    )


class _LlmUser(PodbenchUser):
    abstract = True

    def on_start(self) -> None:
        self.row = llm_row(self.flow)
        self.sizes = _sizes(self.spec.llm)
        self.slo = slo_from(RUNTIME.plan.llm_slo)
        self.rng = random.Random(f"{RUNTIME.plan.seed}:{self.flow}:{id(self)}")

    def record(self, sample: TokenSample) -> None:
        """One generation's measurements, in its flow's own row (`llm:FLOW`)."""
        rec, op = RUNTIME.recorder, self.row
        rec.count(sample.sent, op, "llm_requests")
        if not sample.ok:
            rec.count(sample.sent, op, "llm_failed")
            return
        rec.count(sample.sent, op, "llm_completed")
        rec.count(sample.sent, op, "llm_prompt_tokens", sample.prompt_tokens or 0)
        for metric, value in (
            ("llm_ttft", sample.ttft_ms),
            ("llm_tpot", sample.tpot_ms),
            ("llm_e2e", sample.e2e_ms),
        ):
            if value is not None:
                rec.job_metric(sample.sent, op, metric, value)
        for gap in sample.itl_ms():
            rec.job_metric(sample.sent, op, "llm_itl", gap)
        if self.slo.met(sample):
            rec.count(sample.sent, op, "llm_good")

    def tokens_arrived(self, at: float, count: int) -> None:
        """Output tokens counted in the second they arrive: tokens per second over time."""
        if count > 0:
            RUNTIME.recorder.count(at, self.row, "llm_tokens", count)


class _OpenAiUser(_LlmUser):
    abstract = True
    stream = True

    def fire(self, intended: float) -> None:
        call = build_call(self.flow, self.sizes, self.rng, stream=self.stream)
        if call.stream:
            self.fire_stream(call.path, call.body, intended)
        else:
            reply = self.call("openai", "POST", call.path, body=call.body, intended=intended)
            sample = TokenSample(reply.sent, done=reply.done, streamed=False)
            tokens, prompt = answer_tokens(reply.json()) if reply.ok else (0, None)
            if tokens:
                sample.add_tokens(reply.done, tokens)  # not streamed: every token arrives at the end
                sample.prompt_tokens = prompt
                sample.ok = True
                self.tokens_arrived(reply.done, tokens)
            self.record(sample)

    def fire_stream(self, path: str, body: bytes, intended: float) -> None:
        sent = time.time()
        resp = self.client.request(
            "POST",
            self.prefix + path,
            data=body,  # type: ignore[arg-type]  # geventhttpclient sends bytes as they are
            headers=self.json_headers,
            stream=True,
            name=LABELS["openai"],
        )
        status = resp.status_code or 0
        sample = TokenSample(sent)
        reader = SseReader(sample)
        raw = getattr(resp, "_response", None)
        last_byte: float | None = None
        if 200 <= status < 300 and raw is not None:
            lines = KernelTimes(raw)
            try:
                while True:
                    line, at = lines.readline(READ_LINE)
                    if not line:
                        break
                    before = sample.tokens
                    reader.line(line, at)
                    self.tokens_arrived(at, sample.tokens - before)
                    if reader.done:
                        last_byte = at
                        break
            except Exception as exc:  # a stream cut mid-way is a failed request of its kind
                reader.error = f"stream broken: {type(exc).__name__}"
            finally:
                raw.release()
        done = last_byte or time.time()
        reader.finish(done)
        self.tokens_arrived(done, sample.tokens - len(sample.token_times))
        RUNTIME.sent += 1
        RUNTIME.observe(done, status, False)
        # a 200 whose stream broke off counts in the llm row as a failed generation (llm_failed)
        RUNTIME.recorder.request("openai", sent, intended, done, status, False, self.flow)
        self.record(sample)


@configure
class OpenaiChatStreamUser(_OpenAiUser):
    flow = "openai_chat_stream"


@configure
class OpenaiChatUser(_OpenAiUser):
    flow = "openai_chat"
    stream = False


@configure
class OpenaiCompletionsUser(_OpenAiUser):
    flow = "openai_completions"

    def on_start(self) -> None:
        super().on_start()
        self.stream = bool((self.spec.llm or {}).get("stream", True))


@configure
class RunStreamTokensUser(_LlmUser):
    """/run with a generation input, then /stream long-polls: tokens as the queue API delivers them."""

    flow = "run_stream_tokens"

    def fire(self, intended: float) -> None:
        call = build_call(self.flow, self.sizes, self.rng)
        reply = self.submit("run", intended, body=call.body)
        body = reply.json()
        job_id = body.get("id") if isinstance(body, dict) else None
        sample = TokenSample(reply.sent)
        if not reply.ok or not isinstance(job_id, str):
            self.record(sample)
            return
        deadline = time.time() + self.spec.job_timeout_s
        status = None
        backoff = self.poll_backoff()
        while time.time() < deadline:
            got = self.call("stream", "GET", f"/stream/{job_id}")
            data = got.json()
            if got.status == 404:
                break
            if not got.ok or not isinstance(data, dict):
                gevent.sleep(next(backoff))
                continue
            backoff = self.poll_backoff()
            count = stream_chunk_tokens(data.get("stream") or [])
            if count:
                sample.add_tokens(got.done, count)
                self.tokens_arrived(got.done, count)
            status = data.get("status")
            if status in FINAL and not count:
                break
        sample.done = time.time()
        sample.ok = status == "COMPLETED" and sample.tokens > 0
        self.record(sample)
