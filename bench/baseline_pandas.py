"""The speed baseline: `FeatureSpec.cmi_default()` written with pandas + scipy the way public
Kaggle notebooks for the CMI competition compute IMU features, but causal.

Notebook idioms kept on purpose (this is what the Polars pipeline is measured against):
row-wise features (mirroring, thermopile and ToF per-sensor aggregates) on the whole frame with
axis=1 reductions over the pixel columns; then a `df.groupby('sequence_id')` loop; per sequence
one `scipy.spatial.transform.Rotation.from_quat` (scipy is scalar-LAST, so w,x,y,z is reordered)
and `rotation.apply(gravity, inverse=True)` for gravity removal and tilt, `as_euler('ZYX')`;
a per-row Python loop over consecutive quaternions (sign continuity, then scipy's relative
rotation `r_prev.inv() * r` and `as_rotvec()` for angular velocity and distance: a backward
difference, where the notebooks used a forward one); `rolling(w, min_periods=1)` for every
windowed statistic and `rolling(...).apply(np.fft.rfft ...)` for band power.
What it does not copy is the non-causal part (forward differences, centred windows, back-fills).

Independent of `edgekit.features`: the parameters of `cmi_default()` are written out here, as a
notebook would, so `tests/test_bench_baseline.py` checking equality with `compute_features` is a
third implementation of the spec, not a restatement of the second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

DT = 0.02  # s, the simulator's 50 Hz
GRAVITY = 9.81  # m/s^2
QUAT_MIN_NORM = 1e-6
VARIANCE_FLOOR = 1e-9
ROLL_WINDOWS = (5, 20)
WINDOW = 20  # energy, zero crossings, correlation, stationarity
STATIONARY_STD = 0.1
BP_WINDOW, BP_BINS, BP_NAMES = 25, (1, 2, 3), ("2", "4", "6")  # bins k of a 25-sample DFT = 2, 4, 6 Hz

ACC = ["acc_x", "acc_y", "acc_z"]
ROT = ["rot_w", "rot_x", "rot_y", "rot_z"]
THM = [f"thm_{k}" for k in range(1, 6)]
TOF = {s: [f"tof_{s}_v{p}" for p in range(64)] for s in range(1, 6)}
LINACC = ["linacc_x", "linacc_y", "linacc_z"]
EULER = ["roll", "pitch", "yaw"]
TOF_STATS = ["mean", "std", "min", "max", "valid"]
STATS = ["mean", "std", "min", "max", "valid"]


def feature_names() -> list[str]:
    names = ACC + ROT + THM + [f"{c}_missing" for c in THM]
    names += ["acc_mag", "rot_angle", *LINACC, "linacc_mag", "angvel_x", "angvel_y", "angvel_z", "angdist",
              "tilt", "tilt_rate", *EULER, *(f"{e}_rate" for e in EULER)]
    names += [f"thm_{s}" for s in STATS] + [f"tof_{k}_{s}" for k in TOF for s in TOF_STATS]
    names += [f"{c}_jerk" for c in ["acc_mag", *LINACC]]
    names += [f"{c}_roll{w}_{s}" for c in ("acc_mag", "linacc_mag", "angdist") for w in ROLL_WINDOWS
              for s in ("mean", "std", "max")]
    names += [f"{c}_energy{WINDOW}" for c in LINACC] + [f"{c}_zcr{WINDOW}" for c in LINACC]
    names += [f"{a}_{b}_corr{WINDOW}" for a, b in CORR_PAIRS] + [f"stationary{WINDOW}"]
    names += [f"linacc_mag_bp{f}hz_w{BP_WINDOW}" for f in BP_NAMES]
    return names


CORR_PAIRS = [("acc_x", "acc_y"), ("acc_y", "acc_z"), ("acc_x", "acc_z"), ("linacc_mag", "angdist")]


def mirror_left_handed(df: pd.DataFrame, demographics: pd.DataFrame) -> pd.DataFrame:
    """Left-handed wearers into the right-hand frame: acc_x, rot_y, rot_z negated; thermopiles
    3 <-> 5 and ToF sensors 3 <-> 5 swapped, each 8x8 image flipped left-right."""
    hand = df["subject"].map(demographics.set_index("subject")["handedness"])
    if hand.isna().any():
        raise ValueError(f"no handedness for subjects {df.loc[hand.isna(), 'subject'].unique()[:5].tolist()}")
    left = (hand == 0).to_numpy()  # callers pass a column selection (a copy): their frame is untouched
    df.loc[left, ["acc_x", "rot_y", "rot_z"]] *= -1.0
    df.loc[left, ["thm_3", "thm_5"]] = df.loc[left, ["thm_5", "thm_3"]].to_numpy()
    flipped = {s: [f"tof_{s}_v{row * 8 + 7 - col}" for row in range(8) for col in range(8)] for s in TOF}
    sources = flipped[1] + flipped[2] + flipped[5] + flipped[4] + flipped[3]  # sensor s takes swap(s), flipped
    df.loc[left, [c for s in TOF for c in TOF[s]]] = df.loc[left, sources].to_numpy()
    return df


def row_features(df: pd.DataFrame) -> pd.DataFrame:
    """Thermopile and per-ToF-sensor aggregates over the sample's valid values (0 when none)."""
    out = pd.DataFrame(index=df.index)
    thm = df[THM].astype("float64")
    out["thm_mean"] = thm.mean(axis=1)
    out["thm_std"] = thm.std(axis=1, ddof=0)
    out["thm_min"] = thm.min(axis=1)
    out["thm_max"] = thm.max(axis=1)
    out["thm_valid"] = thm.count(axis=1) / len(THM)
    for s, cols in TOF.items():
        pixels = df[cols].astype("float64")
        pixels = pixels.where(pixels >= 0)  # -1 = no return, NaN = no sensor
        out[f"tof_{s}_mean"] = pixels.mean(axis=1)
        out[f"tof_{s}_std"] = pixels.std(axis=1, ddof=0)
        out[f"tof_{s}_min"] = pixels.min(axis=1)
        out[f"tof_{s}_max"] = pixels.max(axis=1)
        out[f"tof_{s}_valid"] = pixels.count(axis=1) / 64
    return out.fillna(0.0)


def orientation_loop(quats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: sign-continuous quaternion (w,x,y,z), angular velocity (rad/s) and angular
    distance (rad) from the previous sample's orientation (0 on the first sample)."""
    n = len(quats)
    signed = np.empty_like(quats)
    angvel = np.zeros((n, 3))
    angdist = np.zeros(n)
    previous = np.array([1.0, 0.0, 0.0, 0.0])
    previous_rotation = None
    for i in range(n):
        q = quats[i]
        if np.dot(previous, q) < 0.0:
            q = -q
        signed[i] = q
        rotation = Rotation.from_quat([q[1], q[2], q[3], q[0]])
        if previous_rotation is not None:
            rotvec = (previous_rotation.inv() * rotation).as_rotvec()
            angvel[i] = rotvec / DT
            angdist[i] = np.linalg.norm(rotvec)
        previous, previous_rotation = q, rotation
    return signed, angvel, angdist


def sequence_features(g: pd.DataFrame) -> pd.DataFrame:
    """Every per-sequence feature of one sequence (rows in time order). Columns are collected in
    a dict and framed once: inserting ~90 columns one by one into a DataFrame costs more than
    computing them."""
    f: dict[str, pd.Series | np.ndarray] = {}
    # NaN policy: hold the last valid value, a default before the first
    acc = g[ACC].astype("float64")
    acc = acc.where(np.isfinite(acc).all(axis=1), axis=0).ffill().fillna(0.0)
    f.update(acc.items())
    rot = g[ROT].astype("float64")
    norm = np.sqrt((rot ** 2).sum(axis=1, skipna=False))
    rot = rot.div(norm, axis=0).where(np.isfinite(rot).all(axis=1) & (norm >= QUAT_MIN_NORM), axis=0)
    rot = rot.ffill().fillna({"rot_w": 1.0, "rot_x": 0.0, "rot_y": 0.0, "rot_z": 0.0})
    quats, angvel, angdist = orientation_loop(rot.to_numpy())
    f.update(zip(ROT, quats.T))
    for c in THM:
        f[c] = g[c].ffill().fillna(0.0)
    for c in THM:
        f[f"{c}_missing"] = g[c].isna().astype("float64")

    acc_mag = np.sqrt((acc ** 2).sum(axis=1))
    f["acc_mag"] = acc_mag
    f["rot_angle"] = 2.0 * np.arccos(np.minimum(np.abs(quats[:, 0]), 1.0))
    rotation = Rotation.from_quat(quats[:, [1, 2, 3, 0]])
    gravity_device = rotation.apply([0.0, 0.0, GRAVITY], inverse=True)
    linacc = pd.DataFrame(acc.to_numpy() - gravity_device, index=g.index, columns=LINACC)
    f.update(linacc.items())
    linacc_mag = np.sqrt((linacc ** 2).sum(axis=1))
    f["linacc_mag"] = linacc_mag
    f.update(zip(["angvel_x", "angvel_y", "angvel_z"], angvel.T))
    angdist = pd.Series(angdist, index=g.index)
    f["angdist"] = angdist
    tilt = pd.Series(np.arccos(np.clip(gravity_device[:, 2] / GRAVITY, -1.0, 1.0)), index=g.index)
    f["tilt"] = tilt
    f["tilt_rate"] = tilt.diff().fillna(0.0) / DT
    euler = pd.DataFrame(rotation.as_euler("ZYX"), index=g.index, columns=["yaw", "pitch", "roll"])
    for e in EULER:
        f[e] = euler[e]
    for e in EULER:
        d = euler[e].diff().fillna(0.0)
        f[f"{e}_rate"] = np.where(d > np.pi, d - 2 * np.pi, np.where(d <= -np.pi, d + 2 * np.pi, d)) / DT

    signals = {"acc_mag": acc_mag, **dict(linacc.items()), "linacc_mag": linacc_mag, "angdist": angdist,
               **dict(acc.items())}
    for c in ["acc_mag", *LINACC]:
        f[f"{c}_jerk"] = signals[c].diff().fillna(0.0) / DT
    for c in ("acc_mag", "linacc_mag", "angdist"):
        for w in ROLL_WINDOWS:
            roll = signals[c].rolling(w, min_periods=1)
            f[f"{c}_roll{w}_mean"] = roll.mean()
            f[f"{c}_roll{w}_std"] = roll.std(ddof=0)
            f[f"{c}_roll{w}_max"] = roll.max()
    for c in LINACC:
        f[f"{c}_energy{WINDOW}"] = (signals[c] ** 2).rolling(WINDOW, min_periods=1).mean()
    for c in LINACC:
        crossed = (signals[c].shift(1) * signals[c] < 0.0).astype("float64")
        f[f"{c}_zcr{WINDOW}"] = crossed.rolling(WINDOW, min_periods=1).mean()
    for a, b in CORR_PAIRS:
        x, y = signals[a], signals[b]
        corr = x.rolling(WINDOW, min_periods=1).corr(y).clip(-1.0, 1.0)
        flat = (x.rolling(WINDOW, min_periods=1).var(ddof=0) < VARIANCE_FLOOR) | \
               (y.rolling(WINDOW, min_periods=1).var(ddof=0) < VARIANCE_FLOOR)
        f[f"{a}_{b}_corr{WINDOW}"] = corr.where(~flat, 0.0).fillna(0.0)
    acc_mag_std = acc_mag.rolling(WINDOW, min_periods=1).std(ddof=0)
    f[f"stationary{WINDOW}"] = (acc_mag_std < STATIONARY_STD).astype("float64")
    for k, label in zip(BP_BINS, BP_NAMES):
        # |DFT bin k|^2 / n^2 of the last n <= 25 samples (the power ignores where the window starts)
        f[f"linacc_mag_bp{label}hz_w{BP_WINDOW}"] = linacc_mag.rolling(BP_WINDOW, min_periods=1).apply(
            lambda x, k=k: np.abs(np.fft.rfft(x, n=BP_WINDOW)[k]) ** 2 / len(x) ** 2, raw=True)
    return pd.DataFrame(f, index=g.index)


def compute_features_pandas(df: pd.DataFrame, demographics: pd.DataFrame) -> pd.DataFrame:
    """`sequence_id, sequence_counter` and the `cmi_default()` features, rows sorted by
    (sequence_id, sequence_counter). `df`: the CMI train table; `demographics`: subject ->
    handedness (0 left, 1 right)."""
    df = mirror_left_handed(df[["sequence_id", "sequence_counter", "subject", *ACC, *ROT, *THM,
                                *(c for cols in TOF.values() for c in cols)]], demographics)
    rows = row_features(df)
    row_columns = list(rows.columns)
    df = pd.concat([df[["sequence_id", "sequence_counter", *ACC, *ROT, *THM]], rows], axis=1)
    names = feature_names()
    df = df.sort_values(["sequence_id", "sequence_counter"])
    parts = []
    for _, g in df.groupby("sequence_id", sort=True):
        f = pd.concat([g[["sequence_id", "sequence_counter", *row_columns]], sequence_features(g)], axis=1)
        parts.append(f[["sequence_id", "sequence_counter", *names]])
    return pd.concat(parts, ignore_index=True)
