"""Speed levers: each computes what the plain path computes (exactly, or within a stated bound),
the reference mode is the original's computation, and fast-mode training learns."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from einops import rearrange
from omegaconf import OmegaConf
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidgan import gemm_conv
from vidgan.config import load_config
from vidgan.discriminators.mocogan import PatchImageDiscriminator
from vidgan.errors import VidganError
from vidgan.gemm_conv import GemmConv2d, GemmConv3d, GemmConvTranspose2d, takes_gemm
from vidgan.generators.mocogan import MoCoGANGenerator
from vidgan.training import levers
from vidgan.training.levers import Levers
from vidgan.training.trainer import DenseAdam, Trainer

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(tiny, *overrides, recipe="mocogan-categorical"):
    return Trainer(load_config([f"recipe={recipe}", "run_dir=unused", *tiny, *overrides]))


def state(trainer):
    """Every weight, buffer and Adam moment of the generator and the critics."""
    out = {f"g.{k}": v for k, v in trainer.generator.state_dict().items()}
    for c in trainer.critics:
        out.update({f"{c.name}.{k}": v for k, v in c.net.state_dict().items()})
    for name, opt in [("g", trainer.g_optimizer)] + [(c.name, c.optimizer) for c in trainer.critics]:
        for i, s in enumerate(opt.state.values()):
            out.update({f"{name}.adam{i}.{k}": v for k, v in s.items() if k != "step"})
    return out


def max_difference(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].numel())


def train(trainer, steps):
    return [trainer.train_step() for _ in range(steps)]


# resolving modes and levers ----------------------------------------------------------------
def resolve(device="cpu", **train):
    return levers.resolve(OmegaConf.create(train), torch.device(device))


def test_modes_resolve_to_levers(monkeypatch):
    assert resolve(mode="standard") == Levers() == resolve(mode="reference")
    monkeypatch.setattr(levers, "native_bf16", lambda device: False)
    glibc = levers.malloc_tunable()
    assert resolve(mode="fast") == Levers(reuse_fakes=True, skip_critic_grads=True, fused_optim=True,
                                          prefetch=2, keep_memory=glibc, fuse_critic_batches=True)
    assert resolve(mode="fast", reuse_fakes=False, channels_last=True, prefetch=0, keep_memory=False,
                   fuse_critic_batches=False) == Levers(channels_last=True, skip_critic_grads=True, fused_optim=True)
    assert resolve(device="cuda", mode="fast") == Levers(
        precision="fp16", channels_last=True, reuse_fakes=True, skip_critic_grads=True,
        fused_optim=True, cudnn_benchmark=True, prefetch=2)
    assert resolve(mode="reference", prefetch=3).prefetch == 3  # exact, so allowed
    assert resolve(device="cuda", cuda_graphs=True).compile  # CUDA graphs come through torch.compile
    monkeypatch.setattr(levers, "native_bf16", lambda device: True)
    fast = resolve(mode="fast")
    assert (fast.precision, fast.channels_last) == ("bf16", True)
    assert fast.conv3d_gemm and fast.conv2d_gemm and fast.conv_transpose_gemm
    cuda = resolve(device="cuda", mode="fast")
    assert not (cuda.conv3d_gemm or cuda.conv2d_gemm or cuda.conv_transpose_gemm)  # cuDNN runs those layers well


@pytest.mark.parametrize("train, message", [
    ({"mode": "reference", "reuse_fakes": True}, "mode=reference runs the original's algorithm"),
    ({"mode": "reference", "skip_critic_grads": True}, "drop train.skip_critic_grads"),
    ({"mode": "reference", "fuse_critic_batches": True}, "drop train.fuse_critic_batches"),
    ({"cudnn_benchmark": True}, "train.cudnn_benchmark=true needs device=cuda"),
    ({"cuda_graphs": True}, "train.cuda_graphs=true needs device=cuda"),
    ({"precision": "fp16"}, "fp16 needs device=cuda"),
])
def test_impossible_lever_settings_are_one_line_errors(train, message):
    with pytest.raises(VidganError, match=message):
        resolve(**train)


def test_keep_memory_needs_glibc(monkeypatch):
    monkeypatch.setattr(levers, "_mallopt", lambda: None)
    assert not resolve(mode="fast").keep_memory
    with pytest.raises(VidganError, match="^train.keep_memory=true needs glibc's malloc .Linux.; this C library "
                                          "has no mallopt: drop it$"):
        resolve(keep_memory=True)
    with pytest.raises(VidganError, match="keeping freed memory needs glibc's malloc"):
        levers.keep_memory(True)


REUSE_FAULTS = """
import resource, torch
from torch import nn
from vidgan.training import levers
from vidgan.training.levers import Levers

def faults():  # page faults of allocating and touching a 64 MiB tensor three times over
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        torch.ones(64 << 18)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
default = faults()
levers.apply(Levers(keep_memory=True), nn.Linear(2, 2), [])
for _ in range(4):  # the heap grows until a freed block fits the next request
    faults()
print(default, faults())
"""


@pytest.mark.skipif(not levers.malloc_tunable(), reason="keep_memory tunes glibc's malloc")
def test_keep_memory_lever_reuses_freed_pages():
    # In a fresh process, as a run sets it: an earlier failed allocation anywhere in this one
    # moves its thread off glibc's main arena for good, where 64 MiB blocks are always mmapped.
    done = subprocess.run([sys.executable, "-c", REUSE_FAULTS], capture_output=True, text=True, check=True)
    default, kept = map(int, done.stdout.split())
    pages = 3 * (64 << 20) // 4096
    assert kept < pages / 100 < pages <= default  # freed blocks are reused instead of faulted in afresh


@pytest.mark.parametrize("override, message", [
    ("train.mode=turbo", "train.mode must be one of standard, reference, fast"),
    ("train.precision=fp8", "train.precision must be one of fp32, bf16, fp16"),
    ("train.compile=sometimes", "bad value for 'train.compile'"),
])
def test_bad_config_values_fail_before_training(tiny, override, message):
    with pytest.raises(VidganError, match=message):
        load_config(["recipe=mocogan", *tiny, override])


# the reference mode -------------------------------------------------------------------------
@pytest.mark.parametrize("mode, extra, forwards", [
    ("reference", [], 4), ("standard", [], 4), ("standard", ["train.reuse_fakes=true"], 2), ("fast", [], 2)])
def test_generator_forwards_per_iteration(tiny, mode, extra, forwards):
    t = make(tiny, f"train.mode={mode}", *extra)
    calls = []
    t.generator.decoder.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    latents = []
    sample_latents = t.generator.sample_latents
    t.generator.sample_latents = lambda n, *a, **k: latents.append(n) or sample_latents(n, *a, **k)
    t.train_step()
    assert len(calls) == forwards
    images, clips = 4, 2  # TINY batches
    assert sorted(set(calls)) == sorted({images, clips * 13})
    # the original draws 2·T latent videos per wanted frame; vidgan one video per frame
    per_image_step = images * 2 * 13 if mode == "reference" else images
    assert latents.count(per_image_step) == (2 if forwards == 4 else 1)


def test_original_images_are_frames_of_whole_latent_videos():
    g = MoCoGANGenerator(image_size=16, ngf=4, video_length=5, dim_z_category=3).eval()
    images, labels = levers.original_images(g, 6, torch.Generator().manual_seed(3))
    rng = torch.Generator().manual_seed(3)
    z, video_labels = g.sample_latents(6 * 2 * 5, 5, rng)  # the same draws, decoded in full
    with torch.no_grad():
        frames = rearrange(g(z), "b c t h w -> (b t) c h w")
    distance = (images.detach()[:, None] - frames[None]).flatten(2).abs().amax(2)  # image × frame
    match = distance.argmin(1)
    assert distance.min(1).values.max() < 1e-5
    assert match.unique().numel() == 6 and torch.equal(match, match.sort().values)  # distinct, in order
    assert torch.equal(labels, video_labels[match // 5])


def test_reference_mode_needs_a_mocogan_generator():
    with pytest.raises(VidganError, match="needs a generator with sample_latents and decode_frames"):
        levers.original_images(nn.Linear(2, 2), 3)


# algorithmic levers: exact ------------------------------------------------------------------
def test_skip_critic_grads_changes_nothing(tiny):
    plain, skip = make(tiny), make(tiny, "train.skip_critic_grads=true")
    assert train(plain, 2) == train(skip, 2)
    assert max_difference(state(plain), state(skip)) == 0


def critic_gradient_accumulations(trainer):
    """How often a gradient lands in each critic weight during one step."""
    count = {}

    def counter(key):
        count[key] = 0
        return lambda p: count.update({key: count[key] + 1})

    for c in trainer.critics:
        for name, p in c.net.named_parameters():
            p.register_post_accumulate_grad_hook(counter(f"{c.name}.{name}"))
    trainer.train_step()
    return count


def test_skip_critic_grads_leaves_the_critics_weights_without_a_g_step_gradient(tiny):
    """A critic's weights get a gradient in its D step only; without the lever the G step adds one."""
    skip = critic_gradient_accumulations(make(tiny, "train.skip_critic_grads=true"))
    plain = critic_gradient_accumulations(make(tiny))
    assert skip.keys() == plain.keys() and len(skip) > 4
    assert set(skip.values()) == {1}
    assert set(plain.values()) == {2}


def reuse_fakes_step(t):
    """The reuse-fakes algorithm written plainly: fakes once, D steps on them detached, G step."""
    fakes = {c.name: t.fake_batch(c) for c in t.critics}
    for c in t.critics:
        real, labels = t.real_batch(c)
        real_logits, real_classes = c.net(real)
        fake_logits, _ = c.net(fakes[c.name][0].detach())
        loss = c.loss.discriminator(real_logits, fake_logits)
        for aux in c.aux:
            loss = loss + aux(real_classes, labels)
        c.optimizer.zero_grad()
        loss.backward()
        c.optimizer.step()
    g_loss = torch.zeros(())
    for c in t.critics:
        fake, fake_labels = fakes[c.name]
        logits, classes = c.net(fake)
        g_loss = g_loss + c.weight * c.loss.generator(logits)
        for aux in c.aux:
            g_loss = g_loss + aux(classes, fake_labels)
    t.g_optimizer.zero_grad()
    g_loss.backward()
    t.g_optimizer.step()


@pytest.mark.parametrize("recipe", ["mocogan-categorical", "mocogan-patch"])
def test_reuse_fakes_is_exactly_the_plain_algorithm(tiny, recipe):
    lever, plain = make(tiny, "train.reuse_fakes=true", recipe=recipe), make(tiny, recipe=recipe)
    for _ in range(2):
        lever.train_step()
        reuse_fakes_step(plain)
    assert max_difference(state(lever), state(plain)) == 0


class SmallCritic(nn.Module):
    batch_separable = True

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.Conv2d(4, 2, 3))

    def forward(self, x):
        return self.net(x).mean((2, 3)), None


def test_fused_call_is_one_call_per_batch():
    """Outputs, gradients, batch norm's running statistics and batch counter as two calls,
    for batches of different sizes; an output that is None stays None per batch."""
    torch.manual_seed(0)
    plain, fused = SmallCritic(), SmallCritic()
    fused.load_state_dict(plain.state_dict())
    levers.apply(Levers(fuse_critic_batches=True), nn.Identity(), [fused])
    assert type(fused.net[1]) is levers.PerPartBatchNorm2d
    batches = [torch.randn(3, 3, 6, 6), 2 * torch.randn(5, 3, 6, 6) + 1]
    expected = [plain(b) for b in batches]
    got = levers.fused_call(fused, batches)
    assert [tuple(o.shape) for o, _ in got] == [(3, 2), (5, 2)] and [c for _, c in got] == [None, None]
    assert all(torch.allclose(g[0], e[0], atol=1e-6) for g, e in zip(got, expected))
    (sum(o.square().sum() for o, _ in expected)).backward()
    (sum(o.square().sum() for o, _ in got)).backward()
    for p, q in zip(plain.parameters(), fused.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5)
    for k, v in plain.state_dict().items():  # running mean and variance, num_batches_tracked == 2
        assert torch.allclose(v.float(), fused.state_dict()[k].float(), atol=1e-6), k
    assert fused.net[1].parts is None and fused(batches[0])[0].shape == (3, 2)  # a plain call after it
    assert levers.batch_separable(fused) and not levers.batch_separable(fused.net)  # the class declares it
    fused.net[1] = nn.SyncBatchNorm(4)  # statistics over processes: not per batch
    assert not levers.batch_separable(fused)


def test_fuse_critic_batches_calls_each_critic_once_per_d_step_and_trains_alike(tiny):
    fused, plain = make(tiny, "train.fuse_critic_batches=true"), make(tiny)
    calls = {c.name: [] for c in fused.critics}
    for c in fused.critics:
        c.net.register_forward_hook(lambda m, inputs, output, name=c.name: calls[name].append(len(inputs[0])))
    for a, b in zip(train(fused, 3), train(plain, 3)):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    assert max_difference(state(fused), state(plain)) < 1e-5
    for c in fused.critics:  # per step: one D-step call on real and fake batches together, one G-step call
        assert calls[c.name] == [2 * c.batch, c.batch] * 3


def test_fuse_critic_batches_leaves_critics_that_draw_per_call_alone(tiny):
    """Instance noise and spectral norm draw or iterate per call: such a critic keeps its two
    calls in the fast mode, and asking for the lever explicitly is a one-line error."""
    overrides = ["discriminators.image.noise_sigma=0.1", "discriminators.video.norm=spectral"]
    assert make(tiny, "train.mode=fast", "train.prefetch=0").fused == {"image": True, "video": True}
    fast = make(tiny, "train.mode=fast", "train.prefetch=0", *overrides)
    assert fast.fused == {"image": False, "video": False}
    assert not any(isinstance(m, levers.PerPartBatchNorm2d) for m in fast.critics[0].net.modules())
    fast.train_step()
    for override, name in zip(overrides, ("image", "video")):
        with pytest.raises(VidganError, match=f"^train.fuse_critic_batches=true needs critics that compute each "
                                              f"sample on its own but in batch norm; {name} does not .*: drop it$"):
            make(tiny, "train.fuse_critic_batches=true", override)


# numeric levers: within a stated bound ------------------------------------------------------
def test_fused_adam_within_1e_5_after_three_steps(tiny):
    plain, fused = make(tiny), make(tiny, "train.fused_optim=true")
    assert all(g["fused"] for g in fused.g_optimizer.param_groups) and isinstance(fused.g_optimizer, DenseAdam)
    train(plain, 3), train(fused, 3)
    assert max_difference(state(plain), state(fused)) < 1e-5


def test_dense_adam_steps_like_fused_adam_without_copying_channels_last_gradients():
    """The same numbers as torch's fused Adam, and its step copies no tensor (torch's copies
    every channels_last gradient)."""
    from torch.profiler import profile

    def setup(cls):
        torch.manual_seed(0)
        params = [nn.Parameter(torch.randn(shape).contiguous(memory_format=fmt)) for shape, fmt in (
            ((8, 4, 3, 3, 3), torch.channels_last_3d), ((6, 4, 4, 4), torch.channels_last),
            ((6, 4, 4, 4), torch.contiguous_format), ((5,), torch.contiguous_format))]
        return params, cls(params, lr=1e-2, betas=(0.5, 0.999), fused=True)

    runs = {cls: setup(cls) for cls in (torch.optim.Adam, DenseAdam)}
    copies = {}
    for step in range(3):
        for cls, (params, optimizer) in runs.items():
            for i, p in enumerate(params):
                torch.manual_seed(10 * step + i)
                p.grad = torch.randn_like(p)  # in the parameter's layout, as autograd makes it
            with profile(record_shapes=True) as prof:
                optimizer.step()
            copies[cls] = [e.input_shapes[0] for e in prof.events()  # not the step counters' (0-d)
                           if e.name in ("aten::clone", "aten::copy_") and e.input_shapes[0]]
    (plain, a), (dense, b) = runs.values()
    assert all(torch.equal(p, q) and p.stride() == q.stride() for p, q in zip(plain, dense))
    assert all(torch.equal(a.state[p]["exp_avg_sq"], b.state[q]["exp_avg_sq"]) for p, q in zip(plain, dense))
    assert copies[DenseAdam] == [] and [8, 4, 3, 3, 3] in copies[torch.optim.Adam]  # a channels_last gradient


def gradients(trainer):
    """The last step's gradients: the G step's for the generator, the D steps' (+ G step's) for critics."""
    modules = {"g": trainer.generator, **{c.name: c.net for c in trainer.critics}}
    return {f"{m}.{k}": p.grad for m, net in modules.items() for k, p in net.named_parameters()}


def conv_calls(trainer, hook):
    """``hook(module, inputs, output)`` on every convolution of the generator and the critics."""
    convs = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)
    seen = []
    for net in (trainer.generator, *(c.net for c in trainer.critics)):
        for m in net.modules():
            if isinstance(m, convs):
                m.register_forward_hook(lambda m, i, o: seen.append(hook(m, i, o)))
    return seen


def test_channels_last_runs_every_convolution_on_channels_last_tensors(tiny):
    def layout(m, inputs, output):
        fmt = levers.memory_format(inputs[0])
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
    monkeypatch.setattr(gemm_conv, "MIN_DEPTH", 1)
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
    assert last.real_batch(video)[0].is_contiguous(memory_format=torch.channels_last_3d)
    assert last.fake_batch(last.critics[0])[0].is_contiguous(memory_format=torch.channels_last)
    plain.real_batch(plain.critics[1])  # keep the data streams in step
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
        source = Path(gemm_conv.__file__).read_bytes()
        assert torch.compiler.config.cache_key_tag == f"mine vidgan-gemm-conv-{hashlib.sha256(source).hexdigest()[:16]}"
        make(tiny, "train.compile=true")
        assert torch.compiler.config.cache_key_tag.count("vidgan-gemm-conv-") == 1


def test_compiled_critic_matches_eager_within_1e_5():
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    eager = PatchImageDiscriminator(image_size=16, ndf=4)
    compiled = PatchImageDiscriminator(image_size=16, ndf=4)
    compiled.load_state_dict(eager.state_dict())
    levers.apply(Levers(compile=True), nn.Identity(), [compiled])
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


# the fast mode trains the same model --------------------------------------------------------
def test_fast_mode_learns_like_the_standard_mode(tiny):
    """40 steps at a raised learning rate: the discriminators learn to separate real from fake
    and the generator's frames darken towards the shape data's black background, alike in
    both modes."""
    runs = {}
    for mode in ("standard", "fast"):
        t = make(tiny, f"train.mode={mode}", "optim.lr=2e-3")
        real_mean = t.real_batch(t.critics[1])[0].mean().item()
        before = fake_mean(t)
        losses = train(t, 40)
        runs[mode] = fake_mean(t)
        first = sum(r["d_image"] for r in losses[:5]) / 5
        last = sum(r["d_image"] for r in losses[-10:]) / 10
        assert last < first - 0.4, (mode, first, last)
        assert real_mean < -0.9 and before > -0.2
        assert runs[mode] < before - 0.1, (mode, before, runs[mode])  # towards the real mean
    assert runs["fast"] == pytest.approx(runs["standard"], abs=0.1)


def fake_mean(t):
    with torch.no_grad():
        return t.generator.sample_videos(8, generator=torch.Generator().manual_seed(1))[0].mean().item()


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
