"""What the numbers were measured on: the CPU (model, generation, vector flags), the GPU,
torch and its threads, and the load from other processes.

Every timing the project reports names its machine, so a report records it beside its
numbers (the speed benchmark's and the quality benchmark's).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from vidgan import accel


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count(),
                            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                            "native_bf16_cpu": accel.native_bf16(torch.device("cpu")),
                            "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    try:
        flags = cpu_flags()
        info["cpu_flags"] = sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    except OSError:
        info["cpu_flags"] = []
    return info


def _cpuinfo_field(name: str) -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    return ""


def cpu_model() -> str:
    """The model name, with the family and model numbers that tell CPU generations apart
    where a virtual machine's name does not (``AMD EPYC (family 26, model 2)``)."""
    try:
        name = _cpuinfo_field("model name") or "unknown"
        family, model = _cpuinfo_field("cpu family"), _cpuinfo_field("model\t")
    except OSError:
        return "unknown"
    return f"{name} (family {family}, model {model})" if family and model else name


def cpu_flags() -> set[str]:
    """The CPU's flags as ``/proc/cpuinfo`` lists them (``avx2``, ``avx512_bf16``, ``amx_bf16``, ...)."""
    return set(_cpuinfo_field("flags").split())


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the system has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
