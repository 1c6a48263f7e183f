"""The training step: the original's order and forwards per iteration, the algorithmic levers
exactly as a plain implementation of their algorithm, and the fast mode learning alike."""

import pytest
import torch
from trainers import make, max_difference, state, train


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


# the algorithmic levers: exactly the plain algorithm ----------------------------------------
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
        real, labels = t.real.for_critic(c)
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


# the fast mode trains the same model --------------------------------------------------------
def test_fast_mode_learns_like_the_standard_mode(tiny):
    """40 steps at a raised learning rate: the discriminators learn to separate real from fake
    and the generator's frames darken towards the shape data's black background, alike in
    both modes."""
    runs = {}
    for mode in ("standard", "fast"):
        t = make(tiny, f"train.mode={mode}", "optim.lr=2e-3")
        real_mean = t.real.for_critic(t.critics[1])[0].mean().item()
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
