"""The ``vidgan`` command: run, show, list, generate, report, eval, convert, bench, prepare."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from omegaconf import OmegaConf
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from vidgan.errors import VidganError

console = Console(stderr=True)


def cmd_run(args: argparse.Namespace) -> None:
    from vidgan.config import load_config
    from vidgan.training.trainer import run

    trainer = run(load_config(args.overrides))
    if trainer.rank != 0:
        return
    write_run_report(trainer.run_dir, trainer)
    if trainer.stopped_by is not None:
        console.print(f"stopped by signal {trainer.stopped_by} at step {trainer.step}; checkpoint written; "
                      f"continue with: vidgan run train.resume={trainer.run_dir}")
        sys.exit(128 + trainer.stopped_by)
    console.print(f"run folder: {trainer.run_dir}")


def write_run_report(run_dir: Path, trainer=None) -> None:
    """Write RUN/report.html (after recording the machine of a training run); a failure is a
    warning, never a failed command: the training or evaluation it shows succeeded."""
    from vidgan.run_page import record_machine, write_report

    try:
        if trainer is not None:
            record_machine(run_dir, trainer.step, trainer.device)
        console.print(f"report: {write_report(run_dir)}")
    except Exception as err:  # the command's own work is done: keep its exit status
        logging.getLogger("vidgan").warning("could not write the run's report: %s: %s", type(err).__name__, err)


def cmd_report(args: argparse.Namespace) -> None:
    from vidgan.run_page import write_report

    console.print(f"wrote {write_report(args.run, args.out)}")


def cmd_show(args: argparse.Namespace) -> None:
    from vidgan.config import load_config

    print(OmegaConf.to_yaml(load_config(args.overrides)), end="")


def cmd_list(args: argparse.Namespace) -> None:
    from vidgan.registry import REGISTRIES, RegistryError, registry

    kinds = [registry(args.kind).kind] if args.kind else list(REGISTRIES)
    table = Table("kind", "name", "origin")
    failures = []
    for kind in kinds:
        reg = REGISTRIES[kind]
        for name in reg.names(args.pattern):  # import the plugins: those that fail are listed below
            if reg.origin(name) != "built-in":
                try:
                    reg.get(name)
                except RegistryError:
                    pass
        for name in reg.names(args.pattern):
            table.add_row(kind, name, reg.origin(name))
        failures += [(kind, name, error) for name, error in reg.failures.items()]
    Console().print(table)
    for kind, name, error in failures:
        console.print(f"[red]failed[/red] {kind} {name!r}: {error}")


def cmd_convert(args: argparse.Namespace) -> None:
    import torch

    from vidgan.convert import convert_discriminator, convert_generator, load_original
    from vidgan.config import load_config
    from vidgan.training import checkpoint
    from vidgan.build import build_critics, build_generator

    cfg = load_config(args.overrides)
    generator = build_generator(cfg)
    checkpoint.load_weights(generator, convert_generator(load_original(args.generator)), "generator")
    critics = {c.name: c.net for c in build_critics(cfg, torch.device("cpu"))}
    for item in args.discriminator:
        name, _, path = item.partition("=")
        if name not in critics or not path:
            raise VidganError(f"--discriminator {item!r}: write CRITIC=FILE with CRITIC one of "
                              f"{', '.join(critics)}")
        weights = convert_discriminator(load_original(path), cfg.discriminators[name].name)
        checkpoint.load_weights(critics[name], weights, f"discriminator {name!r}")
    state = {"step": 0, "config": OmegaConf.to_container(cfg), "generator": generator.state_dict(),
             "discriminators": {n: net.state_dict() for n, net in critics.items()}}
    console.print(f"wrote {checkpoint.save(state, args.out)}; try: vidgan generate {args.out}")


def cmd_generate(args: argparse.Namespace) -> None:
    from vidgan.generate import generate

    files = generate(args.checkpoint, args.num_videos, out=args.out, category=args.category, length=args.length,
                     seed=args.seed, ema=args.ema, grid=args.grid, interpolation=args.interpolate,
                     to_seed=args.to_seed)
    names = [f.name for f in files]
    shown = ", ".join(names) if len(names) <= 3 else f"{len(names) - 1} GIFs and {names[-1]}"
    console.print(f"wrote {shown} to {files[0].parent}")


def cmd_eval(args: argparse.Namespace) -> None:
    from vidgan.metrics.evaluate import evaluate

    out = evaluate(args.checkpoint, args.overrides)
    print((out / "eval.md").read_text(), end="")
    if (out / "config.yaml").is_file():  # evaluated into its run folder: the run page shows eval.json
        write_run_report(out)


def cmd_bench(args: argparse.Namespace) -> None:
    from vidgan.bench import options_from
    from vidgan.bench.run import run

    run(options_from(args), log=lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))


def cmd_prepare(args: argparse.Namespace) -> None:
    from vidgan.prepare import prepare

    s = prepare(args.src, args.dst, size=args.size, channels=args.channels, workers=args.workers)
    console.print(f"prepared {s['videos']} videos ({s['frames']} frames, {len(s['classes'])} classes) at "
                  f"{s['size']}×{s['size']} in {args.dst}; skipped {len(s['skipped'])} unreadable files; "
                  f"train with: vidgan run data.root={args.dst}", soft_wrap=True)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, as vidgan's own are: ``error: ...``, exit status 2."""

    def error(self, message: str):
        console.print(f"[red]error:[/red] {escape(message)} (see {self.prog} --help)", highlight=False,
                      soft_wrap=True)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="vidgan", description="Pluggable GANs for video generation.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train a recipe: vidgan run recipe=mocogan train.steps=500")
    run.add_argument("overrides", nargs="*", metavar="key=value")
    run.set_defaults(func=cmd_run)

    show = sub.add_parser("show", help="print the resolved config of a recipe with overrides")
    show.add_argument("overrides", nargs="*", metavar="key=value")
    show.set_defaults(func=cmd_show)

    lst = sub.add_parser("list", help="list registered components (and plugins that failed)")
    lst.add_argument("kind", nargs="?", help="samplers, generators, discriminators, losses, datasets, "
                                             "recipes, metrics, features, augmentations")
    lst.add_argument("--pattern", default="*", help="glob on names, e.g. 'patch-*'")
    lst.set_defaults(func=cmd_list)

    gen = sub.add_parser("generate", help="write GIFs and a PNG grid from a checkpoint: random videos, "
                                          "content/motion grids, interpolation",
                         description="Random videos (default: video-NNN.gif each and grid.png), or a grid "
                                     "or an interpolation that fixes some latent parts and varies others: "
                                     "KIND.gif (the videos animated, side by side) and KIND.png (one row "
                                     "per video, frames left to right).")
    gen.add_argument("checkpoint", help="a checkpoint .pt file or a run folder (its newest checkpoint)")
    gen.add_argument("--num-videos", type=int, default=None, help="random videos to write (default 8)")
    mode = gen.add_mutually_exclusive_group()
    mode.add_argument("--grid", nargs="+", metavar=("KIND", "N"),
                      help="content-motion R C: R content codes (rows) x C motions (columns), each column "
                           "the same motion; motion-content R C: R motions x C contents; category C: one "
                           "row per category, the same content and motion down each column (R, C default 4)")
    mode.add_argument("--interpolate", nargs="+", metavar=("PART", "N"),
                      help="PART K [R]: K videos from --seed's PART code to --to-seed's (content or motion; "
                           "spherical for Gaussian codes such as content, linear for motion and category), "
                           "in R rows (default 1) whose other parts come from --seed")
    gen.add_argument("--to-seed", type=int, default=None, help="the interpolation's end (default: --seed + 1)")
    gen.add_argument("--category", type=int, default=None, help="category label for categorical recipes")
    gen.add_argument("--length", type=int, default=None, help="frames per video (default: the training "
                                                              "length; longer works for MoCoGAN)")
    gen.add_argument("--seed", type=int, default=0, help="draws every code: the same seed, the same picture")
    gen.add_argument("--no-ema", dest="ema", action="store_false",
                     help="use the live generator's weights, not the EMA (runs with train.ema_decay)")
    gen.add_argument("--out", type=Path, default=None, help="output folder (default: RUN/generated)")
    gen.set_defaults(func=cmd_generate)

    rep = sub.add_parser("report", help="write a run's report page (losses, samples, grid, eval, config): "
                                        "vidgan report RUN")
    rep.add_argument("run", type=Path, help="a run folder")
    rep.add_argument("--out", type=Path, default=None, help="the HTML file to write (default: RUN/report.html)")
    rep.set_defaults(func=cmd_report)

    conv = sub.add_parser("convert", help="import weights of the original MoCoGAN code: "
                                          "vidgan convert recipe=mocogan-categorical --generator G.pth --out X.pt")
    conv.add_argument("overrides", nargs="*", metavar="key=value",
                      help="recipe=NAME and any overrides that match the original model")
    conv.add_argument("--generator", required=True, type=Path, help="state_dict of the original VideoGenerator")
    conv.add_argument("--discriminator", action="append", default=[], metavar="CRITIC=FILE",
                      help="state_dict of an original discriminator for the recipe's critic, e.g. video=D.pth")
    conv.add_argument("--out", required=True, type=Path, help="the vidgan checkpoint to write")
    conv.set_defaults(func=cmd_convert)

    ev = sub.add_parser("eval", help="compute metrics of a checkpoint, write eval.json and eval.md: "
                                     "vidgan eval RUN metrics=[acd,mcs] num_videos=256")
    ev.add_argument("checkpoint", help="a checkpoint .pt file or a run folder (its newest checkpoint)")
    ev.add_argument("overrides", nargs="*", metavar="key=value")
    ev.set_defaults(func=cmd_eval)

    prep = sub.add_parser("prepare", help="decode a folder of videos once into training-size arrays: "
                                          "vidgan prepare SRC DST --size 64")
    prep.add_argument("src", type=Path, help="a folder of class folders of video files, SRC/<class>/<video>.mp4")
    prep.add_argument("dst", type=Path, help="the folder to write (run again to continue an interrupted run)")
    prep.add_argument("--size", type=int, default=64, help="frame side in pixels: the training data.image_size")
    prep.add_argument("--channels", type=int, default=3, choices=[1, 3], help="3: RGB, 1: grayscale")
    prep.add_argument("--workers", type=int, default=None, help="decoding processes (default: one per core)")
    prep.set_defaults(func=cmd_prepare)

    from vidgan.bench import add_arguments

    bench = sub.add_parser("bench", help="time the conv hot paths and full iterations, write a report: "
                                         "vidgan bench --quick")
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])
    try:
        args.func(args)
    except VidganError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
