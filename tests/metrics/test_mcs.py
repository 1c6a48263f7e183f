"""MCS: the clip classifier learns real motion, is saved and reused, and scores generated videos."""

import pytest
import torch

from vidgan.data import VideoDataset
from vidgan.errors import VidganError
from vidgan.metrics.base import EvalContext
from vidgan.metrics.mcs import MCS, ClipClassifier


class Dots(VideoDataset):
    """8×8 videos of a bright dot from a seeded start: class 0 moves right, class 1 moves down."""

    num_classes = 2

    def __init__(self, num_videos=40, num_frames=6):
        self.num_videos, self.length = num_videos, num_frames
        self.starts = torch.randint(0, 3, (num_videos, 2), generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return self.num_videos

    def num_frames(self, index):
        return self.length

    def label(self, index):
        return index % 2

    def frames(self, index, frame_indices):
        video = torch.full((3, len(frame_indices), 8, 8), -1.0)
        y, x = self.starts[index].tolist()
        for k, t in enumerate(frame_indices):
            dy, dx = (0, t) if self.label(index) == 0 else (t, 0)
            video[:, k, y + dy, x + dx] = 1.0
        return video


class Puppet(torch.nn.Module):
    """A categorical 'generator' that shows real videos of a class: the asked-for one (``obey``),
    always class 0 (``deaf``) or the other one (``contrary``); ``shown`` keeps their indices."""

    dim_z_category = 4

    def __init__(self, data, mode="obey"):
        super().__init__()
        self.data, self.mode, self.shown = data, mode, []

    def sample_videos(self, n, video_length=None, generator=None, labels=None):
        pick = torch.randint(len(self.data) // 2, (n,), generator=generator) * 2  # class 0 videos
        shown = {"obey": pick + labels, "deaf": pick, "contrary": pick + 1 - labels}[self.mode]
        self.shown += shown.tolist()
        return torch.stack([self.data.frames(int(i), range(video_length)) for i in shown]), labels


def guesses(path, data):
    """The saved classifier's class for each whole video of ``data``, computed here."""
    saved = torch.load(path)
    net = ClipClassifier(saved["num_classes"], FAST["size"])
    net.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        return net(torch.stack([data.frames(i, range(data.length)) for i in range(len(data))])).argmax(1)


def context(tmp_path, generator, data, seed=0):
    return EvalContext(generator, lambda: data, num_videos=16, video_length=6, every_nth=1, seed=seed,
                       batch_size=8, device=torch.device("cpu"), out_dir=tmp_path, data={"name": "dots"})


FAST = {"steps": 60, "batch": 16, "size": 8, "heldout": 0.25, "heldout_clips": 32}


def test_classifier_shapes():
    assert ClipClassifier(3, size=16)(torch.zeros(2, 3, 7, 40, 40)).shape == (2, 3)


def test_mcs_is_how_often_the_classifier_sees_the_asked_for_class(tmp_path):
    data = Dots()
    obedient = MCS(**FAST)(context(tmp_path, Puppet(data), data))
    guess = guesses(tmp_path / "mcs-classifier.pt", data)
    labels = torch.tensor([data.label(i) for i in range(len(data))])
    # the held-out videos are the first 10 of the seeded permutation; their clips are the whole videos
    heldout = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:10]
    assert bool((guess[heldout] == labels[heldout]).all()) and obedient["classifier_accuracy"] == 1.0
    assert set(obedient["per_category"]) == {"0", "1"}  # the data's 2 classes, not the code's 4
    asked = torch.arange(16) % 2
    results = {}
    for mode in ("obey", "deaf", "contrary"):
        puppet = Puppet(data, mode)
        results[mode] = MCS(**FAST)(context(tmp_path, puppet, data))
        right = guess[puppet.shown] == asked  # what the classifier says of the shown videos vs the ask
        assert results[mode]["value"] == pytest.approx(right.float().mean().item(), abs=1e-9), mode
        for k in ("0", "1"):
            expected = right[asked == int(k)].float().mean().item()
            assert results[mode]["per_category"][k] == pytest.approx(expected, abs=1e-9), (mode, k)
    assert results["obey"]["value"] == pytest.approx(obedient["classifier_accuracy"], abs=0.1)
    assert results["deaf"]["value"] == pytest.approx(0.5, abs=0.1)
    assert results["contrary"]["value"] <= 0.1
    protocol = obedient["protocol"]
    assert protocol["train_videos"] == 30 and protocol["heldout_videos"] == 10 and protocol["steps"] == 60
    assert protocol["classifier"] == str(tmp_path / "mcs-classifier.pt")


def test_the_classifier_is_saved_reused_and_never_reused_for_other_data(tmp_path, monkeypatch):
    data = Dots()
    first = MCS(**FAST)(context(tmp_path, Puppet(data), data))
    assert (tmp_path / "mcs-classifier.pt").is_file()

    def no_training(self, ctx):
        raise AssertionError("trained again")

    monkeypatch.setattr(MCS, "_train", no_training)
    again = MCS(**FAST)(context(tmp_path, Puppet(data), data))
    assert again == first
    with pytest.raises(VidganError, match="was trained for other data or settings"):
        MCS(**{**FAST, "steps": 61})(context(tmp_path, Puppet(data), data))
    with pytest.raises(VidganError, match="was trained for other data or settings"):
        MCS(**FAST)(context(tmp_path, Puppet(data), data, seed=1))


def test_training_is_reproducible(tmp_path):
    data = Dots()
    a = MCS(**FAST, classifier=str(tmp_path / "a.pt"))(context(tmp_path, Puppet(data), data))
    b = MCS(**FAST, classifier=str(tmp_path / "b.pt"))(context(tmp_path, Puppet(data), data))
    assert a["classifier_accuracy"] == b["classifier_accuracy"] and a["value"] == b["value"]
    sa, sb = torch.load(tmp_path / "a.pt")["state_dict"], torch.load(tmp_path / "b.pt")["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_mcs_needs_a_categorical_generator_and_labelled_data(tmp_path):
    data = Dots()
    plain = Puppet(data)
    plain.dim_z_category = 0
    with pytest.raises(VidganError, match="needs a categorical generator"):
        MCS(**FAST)(context(tmp_path, plain, data))
    unlabelled = Dots()
    unlabelled.num_classes = 1
    with pytest.raises(VidganError, match="at least 2 classes"):
        MCS(**FAST)(context(tmp_path, Puppet(unlabelled), unlabelled))
    with pytest.raises(VidganError, match="heldout must lie in"):
        MCS(heldout=1.0)
