"""What every benchmark prints beside its figures: the CPU model, the flags that decide which inference
path is fast (bf16, int8, AMX), the core count and the load average. One copy for all bench scripts
(``python bench/<script>.py`` puts this folder on the import path)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: The CPU flags the figures depend on.
RELEVANT_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")


def cpu_model_and_flags() -> tuple[str, set[str]]:
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model or platform.processor() or "unknown", flags


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_state() -> str:
    """One key=value line: cpu, cores, relevant flags, load average."""
    model, flags = cpu_model_and_flags()
    have = ",".join(f for f in RELEVANT_FLAGS if f in flags) or "-"
    return f"cpu='{model}' cores={os.cpu_count()} flags={have} loadavg='{load_average()}'"


def cpu_summary() -> str:
    """A header line: each relevant flag with yes/no."""
    model, flags = cpu_model_and_flags()
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")
    have = " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in wanted)
    return f"cpu: {model}; {os.cpu_count()} threads; {have}"


def cpu_tag() -> str:
    """Short CPU + flags + load tag printed beside every figure."""
    model, flags = cpu_model_and_flags()
    on = [f for f in ("avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8") if f in flags] or ["no bf16/int8 ISA"]
    if not any(f.startswith("amx") for f in flags):
        on.append("no AMX")
    return f"[{model}, {os.cpu_count()} thr, {'+'.join(on)}; load {load_average()}]"
