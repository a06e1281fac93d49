"""Face detection on a folder of photos, as the restore pipeline's face stage runs it (MTCNN in
JAX, the pipeline's search size and smallest face): faces found per photo, their sizes and
scores, time per photo, and contact sheets of the photos with their boxes and landmarks.

    python benchmarks/face_detection.py [--photos ../shared/data/old] [--min_face 32]
        [--out benchmarks/results/face_detection]

Writes OUT/face_detection.json (per photo and in total), OUT/face_detection.md (the summary
table) and OUT/faces_NN.jpg (contact sheets, photos with faces first). Times include no
compilation: every photo is detected once before the timed pass.
"""

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHEET_COLUMNS, SHEET_ROWS, CELL = 6, 4, 320


def thumbnail(photo: np.ndarray) -> np.ndarray:
    """The photo fitted into a CELL x CELL white cell, aspect kept."""
    image = Image.fromarray(photo)
    image.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
    cell = Image.new("RGB", (CELL, CELL), (255, 255, 255))
    cell.paste(image, ((CELL - image.width) // 2, (CELL - image.height) // 2))
    return np.asarray(cell)


def contact_sheets(cells: list[np.ndarray], out: Path) -> list[str]:
    from oldrestore.outputs import grid_image

    per_sheet, written = SHEET_COLUMNS * SHEET_ROWS, []
    for first in range(0, len(cells), per_sheet):
        chunk = cells[first:first + per_sheet]
        rows = [chunk[i:i + SHEET_COLUMNS] for i in range(0, len(chunk), SHEET_COLUMNS)]
        path = out / f"faces_{first // per_sheet:02d}.jpg"
        Image.fromarray(grid_image(rows, gap=0)).save(path, quality=85)
        written.append(path.name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=str(REPO.parent / "shared" / "data" / "old"))
    parser.add_argument("--min_face", type=int, default=32,
                        help="faces with a smaller box are left alone (restore.py's default)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "face_detection"))
    args = parser.parse_args(argv)
    from oldrestore.data.images import ImageReadError, list_images, load_rgb
    from oldrestore.inference.faces import find_faces, mark_faces

    folder = Path(args.photos)
    paths = list_images(folder) if folder.is_dir() else []
    if not paths:
        print(f"{folder}: no such folder, or no images in it (the study photos live in "
              "../shared/data)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    records, marked = [], []
    for path in paths:
        try:
            photo = load_rgb(path)
        except ImageReadError as error:
            print(f"skipped: {error}", file=sys.stderr)
            continue
        find_faces(photo, args.min_face)  # compiles this photo's pyramid sizes
        start = time.perf_counter()
        faces = find_faces(photo, args.min_face)
        seconds = time.perf_counter() - start
        records.append({"photo": path.name, "size": list(photo.shape[:2]), "faces": len(faces),
                        "face_sizes": [round(f.size) for f in faces],
                        "scores": [round(float(f.score), 4) for f in faces],
                        "seconds": round(seconds, 4)})
        if faces:
            marked.append(thumbnail(mark_faces(photo, [f.box for f in faces],
                                               [f.landmarks for f in faces])))
        print(f"{path.name}: {len(faces)} face(s), {seconds * 1000:.0f} ms", flush=True)

    if not records:
        print(f"{folder}: none of its images could be read", file=sys.stderr)
        return 2
    counts = [r["faces"] for r in records]
    times = [r["seconds"] for r in records]
    summary = {"photos": len(records), "with_faces": sum(c > 0 for c in counts),
               "faces": sum(counts), "max_per_photo": max(counts),
               "median_seconds": statistics.median(times),
               "median_pixels": statistics.median(r["size"][0] * r["size"][1] for r in records)}
    sheets = contact_sheets(marked, out) if marked else []
    result = {"folder": str(folder), "min_face": args.min_face, "summary": summary,
              "machine": platform.processor() or platform.machine(),
              "date": time.strftime("%Y-%m-%d %H:%M"), "sheets": sheets, "photos": records}
    (out / "face_detection.json").write_text(json.dumps(result, indent=1))
    table = ["| photos | with faces | faces | most in one photo | median time per photo |",
             "|---:|---:|---:|---:|---:|",
             f"| {summary['photos']} | {summary['with_faces']} | {summary['faces']} | "
             f"{summary['max_per_photo']} | {summary['median_seconds'] * 1000:.0f} ms |"]
    (out / "face_detection.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
