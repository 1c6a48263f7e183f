"""A report records the machine it was measured on: the CPU with its generation and vector
flags, torch and its threads, and the load."""

import torch

from vidgan.bench import machine


def test_the_cpu_is_named_with_its_family_and_model(monkeypatch):
    fields = {"model name": "AMD EPYC", "cpu family": "26", "model\t": "2"}
    monkeypatch.setattr(machine, "_cpuinfo_field", fields.get)
    assert machine.cpu_model() == "AMD EPYC (family 26, model 2)"
    monkeypatch.setattr(machine, "_cpuinfo_field", {"model name": "Some CPU"}.get)
    assert machine.cpu_model() == "Some CPU"


def test_the_machine_keeps_the_vector_flags(monkeypatch):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"sse4_2", "fma", "avx2", "amx_bf16", "avx512_bf16", "ht"})
    info = machine.machine()
    assert info["cpu_flags"] == ["amx_bf16", "avx2", "avx512_bf16", "fma"]
    assert info["torch"] == torch.__version__ and info["threads"] == torch.get_num_threads()

    def unreadable():
        raise OSError("no /proc/cpuinfo")
    monkeypatch.setattr(machine, "cpu_flags", unreadable)
    assert machine.machine()["cpu_flags"] == []


def test_the_load_is_three_averages_rounded_to_hundredths():
    load = machine.load()
    assert len(load) == 3 and all(round(x, 2) == x >= 0 for x in load)
