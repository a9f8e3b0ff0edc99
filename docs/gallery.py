#!/usr/bin/python3
"""gallery.py IMFILTER SAMPLE OUT.png: the contact sheet of make gallery.

Every kernel of the library (as --list-kernels names them) and one of each
generator family filters SAMPLE, halved first by imfilter itself
(-k downscale2 --stride 2); the results are laid out in a grid, each under
the command-line words that made it.  Kernels whose weights sum to 0 are
shown with --abs (their results are signed), and the few kernels that
change the image's size are shown scaled back to the tile.  The tiling and
the labels (a 5x7 bitmap font, drawn twice as large) are this script's;
the PNG is written by imfilter from a PPM, so numpy is the only need.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

# A 5x7 font with descenders: each glyph is 7 rows of 5 pixels, '#' on,
# and g, j, p, q, y two rows more below the line.
GLYPHS = {
    "a": ["     ", "     ", " ### ", "    #", " ####", "#   #", " ####"],
    "b": ["#    ", "#    ", "#### ", "#   #", "#   #", "#   #", "#### "],
    "c": ["     ", "     ", " ####", "#    ", "#    ", "#    ", " ####"],
    "d": ["    #", "    #", " ####", "#   #", "#   #", "#   #", " ####"],
    "e": ["     ", "     ", " ### ", "#   #", "#####", "#    ", " ####"],
    "f": ["  ## ", " #   ", "#### ", " #   ", " #   ", " #   ", " #   "],
    "g": ["     ", "     ", " ####", "#   #", "#   #", "#   #", " ####", "    #", " ### "],
    "h": ["#    ", "#    ", "#### ", "#   #", "#   #", "#   #", "#   #"],
    "i": ["  #  ", "     ", " ##  ", "  #  ", "  #  ", "  #  ", " ### "],
    "j": ["   # ", "     ", "  ## ", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "],
    "k": ["#    ", "#    ", "#  # ", "# #  ", "##   ", "# #  ", "#  # "],
    "l": [" ##  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "m": ["     ", "     ", "## # ", "# # #", "# # #", "# # #", "# # #"],
    "n": ["     ", "     ", "#### ", "#   #", "#   #", "#   #", "#   #"],
    "o": ["     ", "     ", " ### ", "#   #", "#   #", "#   #", " ### "],
    "p": ["     ", "     ", "#### ", "#   #", "#   #", "#   #", "#### ", "#    ", "#    "],
    "q": ["     ", "     ", " ####", "#   #", "#   #", "#   #", " ####", "    #", "    #"],
    "r": ["     ", "     ", "# ## ", "##  #", "#    ", "#    ", "#    "],
    "s": ["     ", "     ", " ####", "#    ", " ### ", "    #", "#### "],
    "t": [" #   ", " #   ", "#### ", " #   ", " #   ", " #  #", "  ## "],
    "u": ["     ", "     ", "#   #", "#   #", "#   #", "#   #", " ####"],
    "v": ["     ", "     ", "#   #", "#   #", "#   #", " # # ", "  #  "],
    "w": ["     ", "     ", "#   #", "# # #", "# # #", "# # #", " # # "],
    "x": ["     ", "     ", "#   #", " # # ", "  #  ", " # # ", "#   #"],
    "y": ["     ", "     ", "#   #", "#   #", "#   #", "#   #", " ####", "    #", " ### "],
    "z": ["     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"],
    "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
    "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
    "3": ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
    "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
    "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
    "6": ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
    "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
    "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
    "9": [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
    ":": ["     ", "  #  ", "  #  ", "     ", "  #  ", "  #  ", "     "],
    ",": ["     ", "     ", "     ", "     ", "  #  ", "  #  ", " #   "],
    ".": ["     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "],
    "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
    "=": ["     ", "     ", "#####", "     ", "#####", "     ", "     "],
    " ": ["     "] * 7,
}
SCALE = 2                        # each font pixel is 2 x 2
CELL = 5 * SCALE + 1             # advance per character
LINE = 9 * SCALE + 2             # height of a line of text, descenders included
GAP, LABEL = 6, 2 * LINE + 2     # space between tiles, height of a label strip (two lines)


def draw_text(img, x, y, text, colour):
    for ch in text.lower():
        g = GLYPHS.get(ch, GLYPHS[" "])
        for r, row in enumerate(g):
            for c, on in enumerate(row):
                if on == "#":
                    img[y + r * SCALE:y + (r + 1) * SCALE, x + c * SCALE:x + (c + 1) * SCALE] = colour
        x += CELL


def read_pnm(path):
    """A binary PPM or PGM (8 or 16 bits) as an h x w x 3 float array in 0..1."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    ch = 3 if magic == b"P6" else 1
    dt = np.dtype(">u2") if maxval > 255 else np.uint8
    a = np.frombuffer(data, dtype=dt, count=w * h * ch, offset=pos).reshape(h, w, ch)
    a = a.astype(np.float64) / maxval
    return np.repeat(a, 3, axis=2) if ch == 1 else a


def wrap(label, width):
    """label in at most two lines of width characters, cut at spaces."""
    lines = [""]
    for word in label.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = (lines[-1] + " " + word).strip()
    if len(lines) > 2 or max(len(l) for l in lines) > width:
        raise SystemExit("gallery: label %r does not fit a tile" % label)
    return lines


def fit(a, w, h):
    """a resized to w x h by nearest samples (the few kernels that scale)."""
    ys = (np.arange(h) * a.shape[0] / h).astype(int)
    xs = (np.arange(w) * a.shape[1] / w).astype(int)
    return a[ys][:, xs]


# Edge kernels whose responses are faint on a photo, shown stronger: twice
# for the Laplacians, three times for compass (whose own scale is 15).
GAIN = {"edge": ["--scale", "0.5"], "edge8": ["--scale", "0.5"],
        "outline": ["--scale", "0.5"], "compass": ["--scale", "5"]}


def entries(imf):
    """(label, options) for each library kernel, then the generators."""
    names = [l.split()[0] for l in subprocess.run(
        [imf, "--list-kernels"], check=True, capture_output=True, text=True).stdout.splitlines()
        if l.strip()]
    special = {"downscale2": ["--stride", "2"], "upscale2": ["--transpose", "--stride", "2"]}
    out = []
    for n in names:
        show = subprocess.run([imf, "--show-kernel", n], check=True, capture_output=True,
                              text=True).stdout
        signed = ("combine:" not in show and "\nsum: 0 " in show and
                  "\nbias:     0\n" in show)
        opts = special.get(n, (["--abs"] + GAIN.get(n, [])) if signed else GAIN.get(n, []))
        out.append((" ".join([n] + opts), ["-k", n] + opts))
    for spec, opts in (("gaussian:3", []), ("box:9", []), ("unsharp:2,2", []),
                       ("log:2", ["--abs", "--scale", "0.05"]),
                       ("dog:1,3", ["--offset", "0.5", "--scale", "0.5"])):
        out.append((" ".join([spec] + opts), ["-k", spec] + opts))
    return out


def main():
    imf, sample, dest = sys.argv[1:4]
    cols = 6
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.png")
        subprocess.run([imf, "-k", "downscale2", "--stride", "2", sample, small], check=True)
        tiles = []
        for label, args in entries(imf):
            out = os.path.join(tmp, "tile.ppm")
            subprocess.run([imf] + args + [small, out], check=True)
            tiles.append((label, read_pnm(out)))
        th, tw = tiles[0][1].shape[:2]
        labels = [wrap(label, tw // CELL) for label, _ in tiles]
        rows = (len(tiles) + cols - 1) // cols
        sheet = np.full((GAP + rows * (th + LABEL + GAP), GAP + cols * (tw + GAP), 3), 1.0)
        for i, (label, a) in enumerate(tiles):
            r, c = divmod(i, cols)
            x, y = GAP + c * (tw + GAP), GAP + r * (th + LABEL + GAP)
            if a.shape[:2] != (th, tw):
                a = fit(a, tw, th)
            for n, text in enumerate(labels[i]):
                draw_text(sheet, x, y + 2 + n * LINE, text, (0.1, 0.1, 0.1))
            sheet[y + LABEL:y + LABEL + th, x:x + tw] = a
        ppm = os.path.join(tmp, "sheet.ppm")
        with open(ppm, "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (sheet.shape[1], sheet.shape[0]))
            f.write((np.clip(sheet, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes())
        subprocess.run([imf, "-k", "identity", "--png-compression", "9", ppm, dest], check=True)
    print("gallery: %d kernels on %s -> %s" % (len(tiles), sample, dest))


if __name__ == "__main__":
    main()
