"""The wrist simulator: edgekit's embedded default data, in the CMI competition schema.

    from edgekit.data.simulator import simulate, write_simulation
    data = simulate(8151, seed=0)          # ~575 K rows, 341 columns, like the Kaggle train.csv
    write_simulation(data, Path("sim/train.parquet"))   # + sim/train_demographics.csv

What is simulated, by module:
- subjects.py: demographics, handedness (~12 % left), per-subject speed, amplitude, tremor, style;
- body.py: the body as spheres (head, neck, torso, thigh) and the four postures;
- gestures.py: the 18 gesture programs (site, forearm pose, rhythm, amplitudes) as data;
- motion.py, kinematics.py: orientation integrated from body-frame angular velocity, the wrist
  path of an elbow-plus-forearm arm, acc = R(q)^T (a_lin + g) (conventions in cmi_schema);
- sensors.py: thermopiles and 8×8 ToF imagers ray-cast against the body spheres;
- mirror.py: left-handed subjects are the physical mirror image of a right-hand simulation;
- faults.py: IMU-only sequences, quaternion dropouts and sign flips, a dead thm_5;
- table.py: dtypes (missing = null, ToF Int16 with -1 = no return) and writing.
"""

from edgekit.data.simulator.config import SimConfig
from edgekit.data.simulator.kinematics import simulate_imu
from edgekit.data.simulator.simulate import simulate
from edgekit.data.simulator.table import TRAIN_DTYPES, SimulatedData, read_simulation, write_simulation

__all__ = [
    "SimConfig",
    "SimulatedData",
    "TRAIN_DTYPES",
    "read_simulation",
    "simulate",
    "simulate_imu",
    "write_simulation",
]
