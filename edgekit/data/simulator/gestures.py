"""The 18 gesture motion programs of the CMI task, as data.

Each program says where the fingers go (a point on a body blob, or a point in the air), how the
forearm is held there (from an elbow position and the direction the watch face turns to), and
what the hand does once there: a waveform with a frequency, an angular amplitude about a device
axis (wrist twist, flexion, ...) and an arm displacement along a body-frame direction. Geometry is
for a right-handed 1.70 m subject in the body frame of `body.py` (x right, y forward, z up).

The programs are deliberately close where the real gestures are: Eyebrow and Eyelash pulls
differ by a few degrees and a little amplitude, the two forehead gestures share a site but not a
rhythm, the two neck gestures share a site and differ in rhythm and size. Target gestures are
all at the head and neck; several non-targets (drink, glasses, pulling air) come near the face
too, which keeps "target or not" from being trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.data import cmi_schema as cs

Vec = tuple[float, float, float]

# waveforms (see motion.py): "sine" scratching/waving, "pulls" repeated pull-and-release,
# "hump" one out-and-back excursion over the gesture, "lissajous" writing, "jitter" small
# irregular finger work, "explore" slow search then a pull-out upwards
WAVEFORMS = ("sine", "pulls", "hump", "lissajous", "jitter", "explore")
# displacement directions resolved per sequence: the contact normal, a surface tangent, or up
DIRECTION_WORDS = ("normal", "tangent", "up")
DEVICE_X: Vec = (1.0, 0.0, 0.0)  # wrist flexion / extension
DEVICE_Y: Vec = (0.0, 1.0, 0.0)  # forearm twist (pronation / supination)
DEVICE_Z: Vec = (0.0, 0.0, 1.0)  # radial / ulnar deviation, waving


@dataclass(frozen=True)
class Gesture:
    name: str
    site: str  # a blob of body.BLOBS, or "air"
    contact: Vec  # outward normal on the blob at the fingertips, or the fingertip point for "air"
    elbow: Vec  # where the elbow is while the hand works (fixes the forearm direction)
    watch_face: Vec  # the body direction the watch face (device +z) turns towards
    waveform: str
    freq_hz: tuple[float, float]
    angle_deg: float
    angle_axis: Vec  # device frame
    disp_m: float
    disp_dir: str | Vec  # a DIRECTION_WORDS entry or a body-frame vector
    standoff_m: float = 0.0  # fingers (or a held object) this far off the surface
    length_scale: float = 1.0  # relative sequence length
    weight: float = 4.0  # relative frequency in the data (competition counts ~640 vs ~160)
    # 1..5: the forearm rolls so that this proximity sensor looks at the site blob (overrides
    # watch_face); 0: the watch face follows watch_face
    facing_sensor: int = 0


_FACE_ELBOW: Vec = (0.28, 0.22, 0.0)

GESTURE_PROGRAMS: tuple[Gesture, ...] = (
    Gesture("Above ear - pull hair", "head", (0.92, 0.05, 0.38), (0.40, 0.10, 0.05), (-0.9, 0.3, 0.2),
            "pulls", (0.7, 1.3), 12.0, DEVICE_Y, 0.025, "normal"),
    Gesture("Cheek - pinch skin", "head", (0.62, 0.75, -0.22), (0.30, 0.22, -0.05), (-0.5, -0.3, 0.5),
            "pulls", (0.5, 1.0), 6.0, DEVICE_Y, 0.007, "normal"),
    Gesture("Eyebrow - pull hair", "head", (0.35, 0.88, 0.32), _FACE_ELBOW, (-0.2, -0.7, 0.4),
            "pulls", (0.7, 1.3), 10.0, DEVICE_Y, 0.02, "normal"),
    Gesture("Eyelash - pull hair", "head", (0.30, 0.92, 0.22), (0.27, 0.24, 0.0), (-0.2, -0.75, 0.35),
            "pulls", (0.8, 1.4), 8.0, DEVICE_Y, 0.016, "normal"),
    Gesture("Forehead - pull hairline", "head", (0.12, 0.72, 0.68), _FACE_ELBOW, (-0.1, -0.6, 0.6),
            "pulls", (0.6, 1.2), 10.0, DEVICE_Y, 0.02, "normal"),
    Gesture("Forehead - scratch", "head", (0.12, 0.85, 0.50), _FACE_ELBOW, (-0.1, -0.6, 0.6),
            "sine", (2.5, 4.5), 2.0, DEVICE_X, 0.006, "tangent"),
    Gesture("Neck - pinch skin", "neck", (0.45, 0.88, 0.0), (0.25, 0.20, -0.12), (-0.3, -0.5, 0.6),
            "pulls", (0.5, 1.0), 6.0, DEVICE_Y, 0.007, "normal"),
    Gesture("Neck - scratch", "neck", (0.55, 0.83, 0.0), (0.26, 0.18, -0.12), (-0.3, -0.5, 0.6),
            "sine", (2.5, 4.5), 2.0, DEVICE_X, 0.005, "tangent"),
    Gesture("Drink from bottle/cup", "head", (0.05, 0.98, -0.2), (0.22, 0.25, -0.1), (0.6, 0.3, 0.6),
            "hump", (0.3, 0.6), 35.0, DEVICE_X, 0.03, "up", standoff_m=0.07, length_scale=1.4, weight=1.0,
            facing_sensor=1),
    Gesture("Feel around in tray and pull out an object", "air", (0.12, 0.42, -0.22), (0.2, 0.15, -0.2),
            (0.0, 0.0, 1.0), "explore", (0.5, 1.0), 10.0, DEVICE_Z, 0.05, (1.0, 0.3, 0.0), length_scale=1.4, weight=1.0),
    Gesture("Glasses on/off", "head", (0.75, 0.62, 0.15), (0.32, 0.18, 0.0), (-0.6, -0.2, 0.5),
            "hump", (0.3, 0.6), 15.0, DEVICE_Y, 0.12, "normal", length_scale=1.3, weight=1.0),
    Gesture("Pinch knee/leg skin", "thigh", (0.1, 0.45, 0.89), (0.2, 0.05, -0.08), (0.5, 0.2, 0.8),
            "pulls", (0.5, 1.0), 6.0, DEVICE_Y, 0.007, "normal", weight=1.0, facing_sensor=3),
    Gesture("Pull air toward your face", "head", (0.1, 0.99, 0.0), (0.25, 0.35, -0.05), (-0.1, -0.9, 0.3),
            "pulls", (0.5, 0.9), 20.0, DEVICE_X, -0.18, "normal", standoff_m=0.30, weight=3.0),
    Gesture("Scratch knee/leg skin", "thigh", (0.1, 0.45, 0.89), (0.2, 0.05, -0.08), (0.5, 0.2, 0.8),
            "sine", (2.5, 4.5), 2.5, DEVICE_X, 0.01, "tangent", weight=3.0, facing_sensor=3),
    Gesture("Text on phone", "air", (0.05, 0.32, 0.02), (0.18, 0.08, -0.12), (0.0, 0.0, 1.0),
            "jitter", (3.0, 5.0), 0.7, DEVICE_X, 0.002, "up", length_scale=1.2),
    Gesture("Wave hello", "air", (0.35, 0.12, 0.40), (0.33, 0.10, 0.02), (0.0, -1.0, 0.0),
            "sine", (1.5, 2.5), 25.0, DEVICE_Z, 0.0, "up", weight=3.0),
    Gesture("Write name in air", "air", (0.12, 0.45, 0.15), (0.22, 0.15, -0.1), (0.0, 0.3, 1.0),
            "lissajous", (0.8, 1.6), 12.0, DEVICE_Z, 0.04, (1.0, 0.0, 0.3), length_scale=1.3, weight=3.0),
    Gesture("Write name on leg", "thigh", (0.0, 0.2, 0.98), (0.2, 0.0, -0.1), (0.3, 0.0, 1.0),
            "lissajous", (1.0, 2.0), 5.0, DEVICE_Z, 0.02, "tangent", length_scale=1.3, weight=1.0,
            facing_sensor=1),
)
assert tuple(g.name for g in GESTURE_PROGRAMS) == cs.GESTURES
assert all(g.waveform in WAVEFORMS for g in GESTURE_PROGRAMS)

# Where the hand rests before the sequence starts: relaxed on the lap.
REST = Gesture("rest", "thigh", (0.2, -0.1, 0.97), (0.22, -0.02, -0.1), (0.3, 0.0, 1.0),
               "sine", (0.0, 0.0), 0.0, DEVICE_X, 0.0, "up", standoff_m=0.03, facing_sensor=3)

# Gestures whose hand ends up near the face, head or neck (the thermopile/ToF tests use this).
FACE_GESTURES: tuple[str, ...] = tuple(
    g.name for g in GESTURE_PROGRAMS if g.site in ("head", "neck") and g.standoff_m < 0.2
)
