"""The numeric levers accel.apply installs (channels_last, GEMM convolutions, bf16 autocast,
torch.compile, the CUDA levers) compute what the plain path computes, within a stated bound."""

import hashlib
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from trainers import conv_calls, gradients, make, max_difference, state, train

from vidgan import accel
from vidgan.accel import gemm
from vidgan.accel.gemm import GemmConv2d, GemmConv3d, GemmConvTranspose2d, takes_gemm, thresholds
from vidgan.discriminators.mocogan import PatchImageDiscriminator

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_channels_last_runs_every_convolution_on_channels_last_tensors(tiny):
    def layout(m, inputs, output):
        fmt = accel.memory_format(inputs[0])
        return (inputs[0].is_contiguous(memory_format=fmt), m.weight.is_contiguous(memory_format=fmt),
                output.is_contiguous(memory_format=fmt))

    last, plain = make(tiny, "train.channels_last=true"), make(tiny)
    seen_last, seen_plain = conv_calls(last, layout), conv_calls(plain, layout)
    last.train_step()
    plain.train_step()
    assert len(seen_last) == len(seen_plain) > 20
    assert all(all(s) for s in seen_last)  # input, weight and output of every call
    assert not all(all(s) for s in seen_plain)


@pytest.mark.parametrize("lever, kind, gemm_ops", [
    ("conv3d_gemm", GemmConv3d, {"vidgan.gemm_convolution3d", "vidgan.gemm_convolution3d_weight_grad",
                                 "vidgan.gemm_convolution3d_input_grad"}),
    ("conv2d_gemm", GemmConv2d, {"vidgan.gemm_convolution3d", "vidgan.gemm_convolution3d_weight_grad",
                                 "vidgan.gemm_convolution3d_input_grad"}),
    ("conv_transpose_gemm", GemmConvTranspose2d, {"vidgan.gemm_convolution_transpose2d", "vidgan.gemm_convolution3d",
                                                  "vidgan.gemm_convolution3d_weight_grad"}),
])
def test_gemm_levers_run_the_small_calls_as_gemms_and_train_alike(tiny, monkeypatch, lever, kind, gemm_ops):
    """The lever took effect (its GEMM ops ran, only for calls with few GEMM rows: the video
    critics' last Conv3d layers, the image critics' last Conv2d layers, the generator's
    ConvTranspose2d layers on small inputs; the tiny critics' shallow ones too) and changes
    nothing but rounding: losses of the first steps within 1e-4."""
    monkeypatch.setattr(thresholds, "MIN_DEPTH", 1)
    gemm, plain = make(tiny, f"train.{lever}=true"), make(tiny)
    calls = conv_calls(gemm, lambda m, inputs, output: (type(m),
                                                        takes_gemm(m, tuple(inputs[0].shape), inputs[0].device)))
    with FlopCounterMode(display=False) as counter:
        first = gemm.train_step()
    assert first == pytest.approx(plain.train_step(), rel=1e-4, abs=1e-6)
    assert gemm_ops <= {str(op) for op in counter.get_flop_counts()["Global"]}
    assert {k for k, gemm_path in calls if gemm_path} == {kind}
    assert any(k is kind and not gemm_path for k, gemm_path in calls)  # large calls: oneDNN
    assert not any(isinstance(m, kind) for net in (plain.generator, *(c.net for c in plain.critics))
                   for m in net.modules())
    assert gemm.train_step() == pytest.approx(plain.train_step(), rel=1e-4, abs=1e-6)


def test_channels_last_within_1e_4_relative(tiny):
    """Same gradients to 1e-4 (relative norm), same losses to 1e-5; weights after two Adam
    steps to 1e-3 (Adam turns last-bit differences of near-zero gradients into steps of up
    to the learning rate, 2e-4)."""
    plain, last = make(tiny), make(tiny, "train.channels_last=true")
    video = last.critics[1]
    assert video.net.net[1].conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert last.generator.decoder.net[1].conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert last.real.for_critic(video)[0].is_contiguous(memory_format=torch.channels_last_3d)
    assert last.fake_batch(last.critics[0])[0].is_contiguous(memory_format=torch.channels_last)
    plain.real.for_critic(plain.critics[1])  # keep the data streams in step
    plain.fake_batch(plain.critics[0])
    assert plain.train_step() == pytest.approx(last.train_step(), rel=1e-5)
    a, b = gradients(plain), gradients(last)
    for key in a:
        assert (a[key] - b[key]).norm() <= 1e-4 * a[key].norm(), key
    assert plain.train_step() == pytest.approx(last.train_step(), rel=1e-5)
    assert max_difference(state(plain), state(last)) < 1e-3


def test_bf16_autocast_losses_within_2_percent_of_fp32(tiny):
    """Every convolution of the step computes in bf16 (and in fp32 without the lever)."""
    fp32, bf16 = make(tiny), make(tiny, "train.precision=bf16")
    dtypes = {"fp32": conv_calls(fp32, lambda m, i, o: o.dtype), "bf16": conv_calls(bf16, lambda m, i, o: o.dtype)}
    a, b = fp32.train_step(), bf16.train_step()
    assert len(dtypes["bf16"]) > 20
    assert set(dtypes["bf16"]) == {torch.bfloat16} and set(dtypes["fp32"]) == {torch.float32}
    assert a.keys() == b.keys()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=0.02), key


def test_compile_lever_compiles_the_decoder_and_every_critic(tiny):
    with torch.compiler.config.patch(cache_key_tag="mine"):
        compiled, plain = make(tiny, "train.compile=true"), make(tiny)
        for t, is_compiled in ((compiled, True), (plain, False)):
            for net in (t.generator.decoder, *(c.net for c in t.critics)):
                assert (net._compiled_call_impl is not None) == is_compiled, type(net).__name__
        # compiled graphs are keyed by the GEMM ops' source too, after the user's own tag, once
        source = b"".join(path.read_bytes() for path in sorted(Path(gemm.__file__).parent.glob("*.py")))
        assert torch.compiler.config.cache_key_tag == f"mine vidgan-gemm-conv-{hashlib.sha256(source).hexdigest()[:16]}"
        make(tiny, "train.compile=true")
        assert torch.compiler.config.cache_key_tag.count("vidgan-gemm-conv-") == 1


def test_compiled_critic_matches_eager_within_1e_5():
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    eager = PatchImageDiscriminator(image_size=16, ndf=4)
    compiled = PatchImageDiscriminator(image_size=16, ndf=4)
    compiled.load_state_dict(eager.state_dict())
    accel.apply(accel.Levers(compile=True), nn.Identity(), [compiled])
    counters.clear()
    x = torch.randn(2, 3, 16, 16)
    outputs, grads = [], []
    for net in (eager, compiled):
        xi = x.clone().requires_grad_(True)
        logits, _ = net(xi)
        logits.square().sum().backward()
        outputs.append(logits.detach())
        grads.append(xi.grad)
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-5)
    assert counters["stats"]["unique_graphs"] >= 1  # dynamo traced the critic (the eager one runs plain)


# CUDA ---------------------------------------------------------------------------------------
@CUDA
def test_fast_mode_on_cuda_within_5_percent_of_fp32(tiny):
    cuda = [o for o in tiny if o != "device=cpu"] + ["device=cuda"]
    fp32, fast = make(cuda), make(cuda, "train.mode=fast")
    assert fast.levers.precision in ("bf16", "fp16") and fast.levers.channels_last
    assert torch.backends.cudnn.benchmark
    a, b = fp32.train_step(), fast.train_step()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=0.05), key
    assert all(torch.isfinite(torch.tensor(list(fast.train_step().values()))))


@CUDA
@pytest.mark.parametrize("overrides", [["train.precision=fp16"], ["train.compile=true"],
                                       ["train.cuda_graphs=true"]])
def test_cuda_levers_train(tiny, overrides):
    cuda = [o for o in tiny if o != "device=cpu"] + ["device=cuda"]
    t = make(cuda, *overrides)
    assert t.scaler.is_enabled() == ("train.precision=fp16" in overrides)
    losses = train(t, 3)
    assert all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in losses)
