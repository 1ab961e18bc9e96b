import math
import unittest

import numpy as np
import torch

from fleetcast_trainer.features import time_features
from fleetcast_trainer.loss import pinball_loss, q_risk


class TimeFeatureTest(unittest.TestCase):
    def test_epoch_zero_is_thursday_midnight(self):
        f = time_features([0])[0]
        self.assertAlmostEqual(float(f[0]), 0.0, places=6)
        self.assertAlmostEqual(float(f[1]), 1.0, places=6)
        self.assertAlmostEqual(float(f[2]), math.sin(2 * math.pi * 3 / 7), places=6)
        self.assertAlmostEqual(float(f[3]), math.cos(2 * math.pi * 3 / 7), places=6)

    def test_six_am_monday(self):
        monday = 4 * 86400  # 1970-01-05
        f = time_features([monday + 6 * 3600])[0]
        self.assertAlmostEqual(float(f[0]), 1.0, places=6)
        self.assertAlmostEqual(float(f[2]), 0.0, places=6)
        self.assertAlmostEqual(float(f[3]), 1.0, places=6)
        self.assertEqual(time_features(np.arange(10)).shape, (10, 4))


class PinballTest(unittest.TestCase):
    def test_known_values(self):
        pred = torch.tensor([[1.0, 2.0, 3.0]])
        target = torch.tensor([2.0])
        # q=0.1: under-prediction by 1 -> 0.1; q=0.5: 0; q=0.9: over by 1 -> 0.1
        self.assertAlmostEqual(float(pinball_loss(pred, target, [0.1, 0.5, 0.9])), 0.2, places=6)

    def test_q_risk(self):
        y = torch.tensor([10.0, 10.0])
        self.assertAlmostEqual(q_risk(torch.tensor([8.0, 12.0]), y, 0.5), 2 * (1.0 + 1.0) / 20, places=6)


if __name__ == "__main__":
    unittest.main()
