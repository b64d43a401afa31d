"""The Child Mind Institute "Detect Behavior with Sensor Data" schema (Kaggle, 2025).

One place for the column names, gestures, orientations and demographics columns, shared by the
CMI loader, the simulator, the features and the competition metric.
"""

from __future__ import annotations

TARGET_GESTURES: tuple[str, ...] = (
    "Above ear - pull hair",
    "Cheek - pinch skin",
    "Eyebrow - pull hair",
    "Eyelash - pull hair",
    "Forehead - pull hairline",
    "Forehead - scratch",
    "Neck - pinch skin",
    "Neck - scratch",
)
NON_TARGET_GESTURES: tuple[str, ...] = (
    "Drink from bottle/cup",
    "Feel around in tray and pull out an object",
    "Glasses on/off",
    "Pinch knee/leg skin",
    "Pull air toward your face",
    "Scratch knee/leg skin",
    "Text on phone",
    "Wave hello",
    "Write name in air",
    "Write name on leg",
)
GESTURES: tuple[str, ...] = TARGET_GESTURES + NON_TARGET_GESTURES

ORIENTATIONS: tuple[str, ...] = (
    "Seated Straight",
    "Seated Lean Non Dom - FACE DOWN",
    "Lie on Back",
    "Lie on Side - Non Dominant",
)
# behaviour values; the simulator writes the first three in time order (move, pause, gesture) with
# `phase` Transition for the first two. The real data also has the fourth (a Transition value).
BEHAVIORS: tuple[str, ...] = (
    "Relaxes and moves hand to target location",
    "Hand at target location",
    "Performs gesture",
    "Moves hand to target location",
)
PHASES: tuple[str, ...] = ("Transition", "Gesture")
SEQUENCE_TYPES: tuple[str, ...] = ("Target", "Non-Target")

ACC_COLUMNS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z")
ROT_COLUMNS: tuple[str, ...] = ("rot_w", "rot_x", "rot_y", "rot_z")
THM_COLUMNS: tuple[str, ...] = tuple(f"thm_{i}" for i in range(1, 6))
TOF_SENSORS: int = 5
TOF_PIXELS: int = 64  # an 8x8 grid per sensor, row-major
TOF_COLUMNS: tuple[str, ...] = tuple(
    f"tof_{s}_v{p}" for s in range(1, TOF_SENSORS + 1) for p in range(TOF_PIXELS)
)
TOF_NO_RETURN: int = -1  # raw value when a pixel sees nothing; valid returns are 0..254

META_COLUMNS: tuple[str, ...] = (
    "row_id",
    "sequence_type",
    "sequence_id",
    "sequence_counter",
    "subject",
    "orientation",
    "behavior",
    "phase",
    "gesture",
)
SENSOR_COLUMNS: tuple[str, ...] = ACC_COLUMNS + ROT_COLUMNS + THM_COLUMNS + TOF_COLUMNS
TRAIN_COLUMNS: tuple[str, ...] = META_COLUMNS + SENSOR_COLUMNS  # 341 columns
# test.csv has no label columns
TEST_COLUMNS: tuple[str, ...] = ("row_id", "sequence_id", "sequence_counter", "subject") + SENSOR_COLUMNS
LABEL_COLUMNS: tuple[str, ...] = ("sequence_type", "orientation", "behavior", "phase", "gesture")

DEMOGRAPHICS_COLUMNS: tuple[str, ...] = (
    "subject",
    "adult_child",
    "age",
    "sex",
    "handedness",  # 0 left, 1 right
    "height_cm",
    "shoulder_to_wrist_cm",
    "elbow_to_wrist_cm",
)

assert len(TRAIN_COLUMNS) == 341

# --- physical conventions shared by the simulator and the features -------------------------
# The sample rate is not documented by the competition; public code assumes 200 Hz, some
# analyses 50 Hz. edgekit's simulator records at 50 Hz and every FeatureSpec carries its own
# sample period, so real data at another rate only needs a different spec.
SIM_SAMPLE_PERIOD_S: float = 0.02
GRAVITY_M_S2: float = 9.81
# Quaternions are scalar-first (w, x, y, z) and rotate device-frame vectors into the world frame
# (world z points up). An accelerometer at rest reads +9.81 along the device-frame image of world
# up: acc = R(q)^T (a_world + [0, 0, 9.81]).

# Handedness mirroring: reflecting the world across the body's sagittal plane (x -> -x) maps a
# left-wrist recording onto a right-wrist one. Under that reflection a device-frame vector keeps
# y and z and negates x; a rotation keeps its x-axis component and negates the y and z ones.
# The thermopile/ToF pairs on mirrored sides of the watch face swap, and each ToF 8x8 image is
# flipped left-right (columns reversed). Applying the mirror twice is the identity.
MIRROR_ACC_SIGN: tuple[float, float, float] = (-1.0, 1.0, 1.0)
MIRROR_ROT_SIGN: tuple[float, float, float, float] = (1.0, 1.0, -1.0, -1.0)
MIRROR_SENSOR_SWAP: tuple[tuple[int, int], ...] = ((3, 5),)  # 1-based sensor numbers, thm and tof alike
