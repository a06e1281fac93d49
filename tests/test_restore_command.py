"""Restoring photos with tiny trained chains: params-only loading, the restore command end to end
on good and bad files, what is kept of each photo (size, orientation, mode, bit depth, alpha), the
user's masks, determinism, the bundle round trip and one compilation per size bucket."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import skimage
from PIL import Image

from launch import demo as demo_command
from launch import export as export_command
from launch import restore as restore_command
from oldrestore import runs
from oldrestore.bundle import Bundle, write_bundle
from oldrestore.faces import detect_faces, template
from oldrestore.inference import weights as weights_module
from oldrestore.inference.colour import with_input_chroma
from oldrestore.inference.faces import FaceEnhancer
from oldrestore.inference.restore import Restorer, translate
from oldrestore.inference.weights import Workdirs, load_chain
from oldrestore.stages import face_networks
from tests.test_configuration import load_config
from tests.test_vae_training import load_state, run, smoke_config

pytestmark = pytest.mark.usefixtures("fast_compile")


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory):
    """Workdirs vae1, vae2, mapping, mapping_scratch, detector, face at the smoke configs: vae2
    and mapping trained one step (the tests of runs.load read a step past the first), the others
    their initialised state, step 0 (a training step's compilation is most of a stage's time)."""
    root = tmp_path_factory.mktemp("chain")
    tfds_dir = tmp_path_factory.mktemp("tfds")
    steps = {"vae2": 1, "mapping": 1}
    for name in ("vae1", "vae2", "detector", "face"):
        run(smoke_config(name, tfds_dir=tfds_dir, total_steps=steps.get(name, 0)), root / name)
    frozen = {"frozen.vae1": str(root / "vae1"), "frozen.vae2": str(root / "vae2")}
    for name in ("mapping", "mapping_scratch"):
        run(smoke_config(name, tfds_dir=tfds_dir, total_steps=steps.get(name, 0), **frozen),
            root / name)
    return root


def rgb(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


def restore(*args) -> int:
    return restore_command.main([str(a) for a in args])


def test_restoring_imports_no_training_code_and_no_tensorflow():
    code = ("import sys; from oldrestore.inference import faces, pipeline, restore, weights; "
            "from oldrestore import runs; "
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'clu', "
            "'tensorflow_datasets', 'optax') or m.startswith('oldrestore.train')]; "
            "print(heavy); sys.exit(bool(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_runs_load_reads_the_params_of_the_latest_checkpoint_only(chain_dir):
    trained = runs.load(chain_dir / "mapping")
    state = load_state(chain_dir / "mapping")
    assert trained.step == 1 and trained.frozen_steps == {"vae1": 0, "vae2": 1}
    assert set(trained.variables) == {"mapping", "disc"}
    assert "opt" not in trained.variables["mapping"]
    chex.assert_trees_all_equal(trained.variables["mapping"]["params"],
                                jax.device_get(state["mapping"]["params"]))
    detector = runs.load(chain_dir / "detector", step=0)
    assert detector.step == 0 and set(detector.variables["unet"]) == {"params", "batch_stats"}
    with pytest.raises(runs.RunError, match=r"no checkpoint at step 5 \(kept: 0, 1\)"):
        runs.load(chain_dir / "vae2", step=5)


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(rgb(45, 70)).save(folder / "colour.jpg", quality=95)
    Image.fromarray(rgb(40, 52)[..., 0]).save(folder / "gray.png")
    sixteen = (np.random.default_rng(1).integers(0, 65536, (33, 47))).astype(np.uint16)
    Image.fromarray(sixteen).save(folder / "sixteen.png")
    rgba = np.concatenate([rgb(36, 36), np.full((36, 36, 1), 200, np.uint8)], -1)
    Image.fromarray(rgba).save(folder / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40 wide, 60 high; displayed rotated: 60 wide, 40 high
    Image.fromarray(rgb(60, 40)).save(folder / "rotated.jpg", exif=exif)
    Image.fromarray(rgb(30, 30)).save(folder / "colour.png")  # shares the stem 'colour'
    data = (folder / "colour.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[:len(data) // 3])
    (folder / "not_an_image.png").write_text("hello")
    (folder / "empty.jpg").write_bytes(b"")
    Image.fromarray(rgb(8, 8)).save(folder / "tiny.png")
    Image.fromarray(rgb(100, 100)).save(folder / "huge.png")
    return folder


def test_a_folder_of_good_and_bad_photos(chain_dir, photo_folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = restore("--input", photo_folder, "--output", out, "--checkpoints", chain_dir,
                   "--max_megapixels", 0.005)  # 5000 pixels: huge.png (10,000) is refused
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    status = {e["input"].split("/")[-1]: e for e in report["inputs"]}
    assert {n for n, e in status.items() if e["status"] == "ok"} == {
        "colour.jpg", "gray.png", "sixteen.png", "alpha.png", "rotated.jpg", "colour.png"}
    for name, problem in (("truncated.jpg", "cannot read image"),
                          ("not_an_image.png", "cannot read image"),
                          ("empty.jpg", "empty file"), ("tiny.png", "too small (8x8 px"),
                          ("huge.png", "more than the limit")):
        assert name in status[name]["status"] and problem in status[name]["status"], name
    assert report["failed"] == 5 and all(e["seconds"] >= 0 for e in report["inputs"])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert printed.err.count("error: ") == 5 and "restored 6 of 11 photos" in printed.out

    def opened(name):
        return Image.open(out / name)

    assert opened("colour_jpg.png").size == (70, 45) and opened("colour_jpg.png").mode == "RGB"
    assert opened("colour_png.png").size == (30, 30)
    assert opened("gray.png").mode == "L" and opened("gray.png").size == (52, 40)
    assert opened("sixteen.png").mode == "I;16" and opened("sixteen.png").size == (47, 33)
    assert np.asarray(opened("sixteen.png")).max() > 255  # 16-bit values, not 8-bit ones
    assert opened("alpha.png").mode == "RGBA"
    assert np.all(np.asarray(opened("alpha.png"))[..., 3] == 200)
    assert "alpha channel kept" in status["alpha.png"]["note"]
    assert opened("rotated.png").size == (60, 40)  # as displayed, EXIF applied
    assert sorted(p.name for p in photo_folder.iterdir()) == sorted(
        ["colour.jpg", "gray.png", "sixteen.png", "alpha.png", "rotated.jpg", "colour.png",
         "truncated.jpg", "not_an_image.png", "empty.jpg", "tiny.png", "huge.png"])


def test_refusals_are_one_line(chain_dir, photo_folder, tmp_path, capsys, monkeypatch):
    assert restore("--input", photo_folder, "--output", photo_folder,
                   "--checkpoints", chain_dir) == 2
    assert "is the input folder" in capsys.readouterr().err
    assert restore("--input", tmp_path / "nothing", "--output", tmp_path / "o",
                   "--checkpoints", chain_dir) == 2
    assert "no such file or folder" in capsys.readouterr().err
    monkeypatch.setattr(weights_module, "DEFAULT_BUNDLE", tmp_path / "absent.msgpack")
    assert restore("--input", photo_folder / "gray.png", "--output", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no default weights" in err and "--checkpoints" in err
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "vae1").symlink_to(chain_dir / "vae1")
    assert restore("--input", photo_folder / "gray.png", "--output", tmp_path / "o",
                   "--checkpoints", tmp_path / "partial") == 2
    assert "holds no mapping workdir (it holds: vae1)" in capsys.readouterr().err


def test_the_users_masks(chain_dir, tmp_path):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(rgb(40, 48, seed=3)).save(photos / f"{name}.png")
    stroke = np.zeros((40, 48), np.uint8)
    stroke[10:14, 5:40] = 255
    Image.fromarray(stroke).save(masks / "a.png")
    Image.fromarray(stroke[:20]).save(masks / "b.png")  # the wrong size
    assert restore("--input", photos, "--output", tmp_path / "out", "--masks", masks,
                   "--checkpoints", chain_dir, "--save_intermediate") == 1
    report = {e["input"].split("/")[-1]: e for e in json.loads(
        (tmp_path / "out" / "report.json").read_text())["inputs"]}
    assert report["a.png"]["status"] == "ok" and report["a.png"]["defect_share"] == pytest.approx(
        140 / (40 * 48))
    assert "mask is 48x20, the photo is 48x40" in report["b.png"]["status"]
    assert "no mask named c.*" in report["c.png"]["status"]
    written = np.asarray(Image.open(tmp_path / "out" / "intermediate" / "a_mask.png"))
    np.testing.assert_array_equal(written > 0, stroke > 0)
    assert (tmp_path / "out" / "intermediate" / "a_before_after.png").is_file()
    # The holes reach the network: the same photo without a mask restores differently.
    scratch = Restorer(*load_chain(Workdirs(chain_dir), scratch=True))
    photo = np.asarray(Image.open(photos / "a.png"), np.float32) / 255.0
    assert not np.allclose(scratch(photo, stroke > 0), scratch(photo, None))


def test_faces_are_found_enhanced_and_blended_back(chain_dir, tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut = Image.fromarray(skimage.data.astronaut()).resize((256, 256), Image.LANCZOS)
    astronaut.save(photos / "astronaut.png")
    Image.fromarray(np.full((64, 80, 3), 120, np.uint8)).save(photos / "plain.png")
    # Faces are found on the globally restored photo, which an untrained chain turns into noise:
    # here the global stage passes photos through, so the face stage is what is tested.
    monkeypatch.setattr(Restorer, "__call__", lambda self, photo, mask=None: photo)
    out = tmp_path / "out"
    assert restore("--input", photos, "--output", out, "--checkpoints", chain_dir,
                   "--with_faces", "--save_intermediate") == 0  # at the size it was trained at
    report = {e["input"].split("/")[-1]: e for e in json.loads(
        (out / "report.json").read_text())["inputs"]}
    assert report["astronaut.png"]["faces"] == 1
    assert report["plain.png"]["faces"] == 0 and "no faces found" in report["plain.png"]["note"]
    assert (out / "intermediate" / "astronaut_faces.png").is_file()
    assert (out / "intermediate" / "astronaut_faces_before_after.png").is_file()
    # The enhanced face is blended in; away from it the photo is as the global stage left it.
    before = np.asarray(astronaut, np.int16)
    after = np.asarray(Image.open(out / "astronaut.png"), np.int16)
    assert np.abs(after - before)[20:120, 60:180].mean() > 1.0
    np.testing.assert_array_equal(after[-40:], before[-40:])


def test_a_face_size_the_face_network_was_not_trained_at_is_refused(chain_dir, tmp_path,
                                                                     capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb(40, 40)).save(photo)
    for size in (256, 512):  # the usual canvas and the HR one; the smoke network is 32
        assert restore("--input", photo, "--output", tmp_path / "out", "--checkpoints",
                       chain_dir, "--with_faces", "--face_size", size) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "face network was trained at 32 px, not at the face size" in err
        assert "(--face_size 32 runs it)" in err
    assert not (tmp_path / "out").exists()


def test_a_512_face_network_enhances_faces_on_a_512_canvas():
    """The reference's HR setting, with a tiny untrained network at 512."""
    config = load_config("face", "smoke")
    config.data.crop_size = 512
    variables = face_networks(config)["generator"].init(jax.random.key(0),
                                                        jnp.zeros((1, 512, 512, 3)))
    trained = runs.Trained(config=config, step=0, variables={"generator": variables},
                           frozen_steps={})
    photo = skimage.data.astronaut()
    result = FaceEnhancer(trained, size=512)(photo)
    (aligned,), (enhanced,) = result.aligned, result.enhanced
    assert aligned.shape == enhanced.shape == (512, 512, 3)
    (found,) = detect_faces(aligned)
    eyes = np.linalg.norm(found.landmarks - template(512), axis=1)[:2]
    assert eyes.max() < 10  # 156 px apart on the canvas (at 256: 5 px, 78 apart)
    changed = np.abs(result.photo.astype(np.int16) - photo).max(axis=2) > 0
    assert changed[80:160, 190:260].all() and not changed[-100:].any()


@pytest.mark.parametrize("scratch", [False, True])
def test_bundle_and_workdirs_restore_identically_and_deterministically(
        chain_dir, tmp_path, scratch):
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb(50, 66, seed=4)).save(photo)
    bundle = tmp_path / "chain.msgpack"
    assert export_command.main(["--checkpoints", str(chain_dir), "--output", str(bundle),
                                "--meta", "data=smoke"]) == 0
    assert Bundle(bundle).meta["data"] == "smoke"
    flags = ["--with_scratch"] if scratch else []
    outputs = []
    for name, source in (("a", chain_dir), ("b", bundle), ("c", chain_dir)):
        assert restore("--input", photo, "--output", tmp_path / name, "--checkpoints", source,
                       *flags) == 0
        outputs.append((tmp_path / name / "photo.png").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_mapping_alone_restores_with_the_vaes_its_run_took(chain_dir, tmp_path):
    """A folder holding only a mapping workdir loads the VAEs where its config.frozen says its run
    took them: workdirs elsewhere, or a bundle (a run trained with --config.frozen.vae1=a bundle
    records that); a VAE that is gone is named in one line."""
    full = load_chain(Workdirs(chain_dir), scratch=False)
    bundle = tmp_path / "vaes.msgpack"
    write_bundle(bundle, list(full[1:]), {})
    alone = tmp_path / "alone"
    shutil.copytree(chain_dir / "mapping", alone / "mapping")
    config_file = alone / "mapping" / "config.json"
    config = json.loads(config_file.read_text())
    assert config["frozen"] == {n: str(chain_dir / n) for n in ("vae1", "vae2")}
    loads = [load_chain(Workdirs(alone), scratch=False)]
    config["frozen"] = {"vae1": str(bundle), "vae2": str(bundle)}
    config_file.write_text(json.dumps(config))
    loads.append(load_chain(Workdirs(alone), scratch=False))
    for loaded in loads:  # a bundle keeps a VAE's own networks, not its discriminators
        for expected, got, network in zip(full, loaded, ("mapping", "vae", "vae"), strict=True):
            assert (got.stage, got.step) == (expected.stage, expected.step)
            chex.assert_trees_all_equal(got.variables[network], expected.variables[network])

    config["frozen"]["vae2"] = str(tmp_path / "gone")
    config_file.write_text(json.dumps(config))
    with pytest.raises(runs.RunError, match=r"alone: holds no vae2, and where its mapping run "
                                            r"took it from fails: .*gone"):
        load_chain(Workdirs(alone), scratch=False)


def test_a_bundles_warning_is_shown_once(chain_dir, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb(40, 40)).save(photo)
    bundle = tmp_path / "chain.msgpack"
    assert export_command.main(["--checkpoints", str(chain_dir), "--output", str(bundle),
                                "--meta", "warning=worse than its input"]) == 0
    capsys.readouterr()
    assert restore("--input", photo, "--output", tmp_path / "out", "--checkpoints", bundle) == 0
    err = capsys.readouterr().err
    assert err.count("note: worse than its input") == 1


def test_the_flip_ensemble_is_the_mean_of_the_photo_and_its_mirror_image(chain_dir):
    chain = load_chain(Workdirs(chain_dir), scratch=True)
    assert not Restorer(*chain).flip_ensemble  # the weights' config: the smoke one's default
    plain = Restorer(*chain, chroma_sigma=0.0, flip_ensemble=False)
    ensemble = Restorer(*chain, chroma_sigma=0.0, flip_ensemble=True)
    photo = rgb(40, 56, seed=3) / 255.0
    mask = np.zeros((40, 56), bool)
    mask[10:14, 5:30] = True  # not symmetric: the mirror image's holes are elsewhere
    expected = (plain(photo, mask) + plain(photo[:, ::-1], mask[:, ::-1])[:, ::-1]) / 2.0
    got = ensemble(photo, mask)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.abs(got - plain(photo, mask)).max() > 1e-3
    assert ensemble.compilations() == 1


def test_one_compilation_per_size_bucket_and_the_same_result_as_translate(chain_dir):
    restorer = Restorer(*load_chain(Workdirs(chain_dir), scratch=False), bucket=64)
    for height, width in ((40, 50), (60, 33), (64, 64)):
        restorer(rgb(height, width) / 255.0)
    assert restorer.compilations() == 1
    restorer(rgb(70, 20) / 255.0)
    assert restorer.compilations() == 2
    photo = rgb(64, 64, seed=7) / 255.0
    _, direct = translate(restorer.modules, restorer.params,
                          np.asarray(photo, np.float32)[None] * 2.0 - 1.0)
    # jit (the restorer) against eager (translate called directly): float32 rounding only.
    np.testing.assert_allclose(restorer(photo), np.clip((direct[0] + 1.0) / 2.0, 0.0, 1.0),
                               atol=1e-5)


def test_the_demo_restores_the_embedded_photos_made_old(chain_dir, tmp_path, capsys):
    assert demo_command.main(["--output", str(tmp_path), "--checkpoints", str(chain_dir),
                              "--with_scratch"]) == 0
    made = sorted(p.name for p in (tmp_path / "synthetic" / "degraded").iterdir())
    assert made and sorted(p.name for p in (tmp_path / "restored").glob("*.png")) == made
    grid = Image.open(tmp_path / "before_after.png")
    assert grid.width >= 3 * 192 and grid.height >= len(made) * 192
    printed = capsys.readouterr().out
    assert "degraded: PSNR" in printed and "restored: PSNR" in printed


def test_the_demo_without_weights_says_so_in_one_line(tmp_path, capsys):
    assert demo_command.main(["--output", str(tmp_path), "--checkpoints",
                              str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert not (tmp_path / "synthetic").exists()


def test_the_restorer_gives_the_input_colours_as_its_config_says(chain_dir):
    chain = load_chain(Workdirs(chain_dir), scratch=True)
    assert Restorer(*chain).chroma_sigma == chain[0].config.model.inference_chroma_sigma == 0.0
    photo, mask = rgb(40, 48, seed=3) / 255.0, np.zeros((40, 48), bool)
    mask[10, 5:30] = True
    own = Restorer(*chain)(photo, mask)
    np.testing.assert_allclose(Restorer(*chain, chroma_sigma=2.5)(photo, mask),
                               with_input_chroma(own, photo, mask, 2.5), atol=1e-5)


def test_the_command_passes_chroma_sigma_on_and_refuses_a_negative_one(chain_dir, tmp_path,
                                                                         capsys):
    photo = tmp_path / "a.png"
    Image.fromarray(rgb(40, 48, seed=5)).save(photo)
    assert restore("--input", photo, "--output", tmp_path / "out", "--checkpoints", chain_dir,
                   "--chroma_sigma", "2") == 0
    expected = Restorer(*load_chain(Workdirs(chain_dir), scratch=False), chroma_sigma=2.0)(
        np.asarray(Image.open(photo), np.float32) / 255.0)
    written = np.asarray(Image.open(tmp_path / "out" / "a.png"), np.float32)
    assert np.abs(written - np.round(expected * 255.0)).max() <= 1.0
    with pytest.raises(SystemExit):
        restore("--input", photo, "--output", tmp_path / "out2", "--chroma_sigma", "-1")
    assert "--chroma_sigma: -1 is negative" in capsys.readouterr().err
