import math
import unittest

import numpy as np
import torch

from fleetcast_trainer.features import time_features
from fleetcast_trainer.loss import RAW_SCALE_WEIGHT_CAP, pinball_loss, q_risk, raw_scale_weights


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

    def test_weights_scale_each_element(self):
        pred = torch.tensor([[[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]])  # [B=2, 1, n_q]
        target = torch.tensor([[2.0], [2.0]])
        weights = torch.tensor([[0.5], [1.5]])
        self.assertAlmostEqual(float(pinball_loss(pred, target, [0.1, 0.5, 0.9], weights)), 0.2, places=6)
        self.assertAlmostEqual(float(pinball_loss(pred, target, [0.1, 0.5, 0.9], weights * 2)), 0.4, places=6)

    def test_raw_scale_weights(self):
        # two targets: plain (scale is raw already) and log1p (raw spread = scale * e^mean)
        mean = torch.tensor([[[0.0, 0.0]], [[0.0, math.log(3.0)]]])
        scale = torch.tensor([[[1.0, 0.1]], [[3.0, 0.1]]])
        w = raw_scale_weights(mean, scale, torch.tensor([0.0, 1.0]))
        self.assertEqual(tuple(w.shape), (2, 1, 2))
        np.testing.assert_allclose(w[:, 0, 0].numpy(), [0.5, 1.5], rtol=1e-6)
        np.testing.assert_allclose(w[:, 0, 1].numpy(), [0.5, 1.5], rtol=1e-6)  # e^0 vs e^log 3
        self.assertFalse(w.requires_grad)

    def test_raw_scale_weights_are_capped(self):
        scale = torch.ones(100, 1, 1)
        scale[0] = 1e6
        w = raw_scale_weights(torch.zeros(100, 1, 1), scale, torch.tensor([0.0]))
        self.assertAlmostEqual(float(w.max()), RAW_SCALE_WEIGHT_CAP, places=5)
        self.assertAlmostEqual(float(raw_scale_weights(torch.zeros(100, 1, 1), scale, torch.tensor([0.0]), 20.0).max()),
                               20.0, places=4)

    def test_q_risk(self):
        y = torch.tensor([10.0, 10.0])
        self.assertAlmostEqual(q_risk(torch.tensor([8.0, 12.0]), y, 0.5), 2 * (1.0 + 1.0) / 20, places=6)


if __name__ == "__main__":
    unittest.main()
