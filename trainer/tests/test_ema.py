import unittest

import torch

from fleetcast_trainer.ema import swapped_in, weight_average


class WeightAverageTest(unittest.TestCase):
    def test_average_follows_the_weights_and_swaps_in_and_out(self):
        model = torch.nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            model.weight.fill_(0.0)
        average = weight_average(model, 0.5)
        for value in (2.0, 4.0):
            with torch.no_grad():
                model.weight.fill_(value)
            average.update()
        # 0 -> 0.5*0 + 0.5*2 = 1 -> 0.5*1 + 0.5*4 = 2.5
        self.assertAlmostEqual(float(average.averaged_state()["weight"]), 2.5)
        with swapped_in(average) as inside:
            self.assertAlmostEqual(float(inside.weight), 2.5)
        self.assertAlmostEqual(float(model.weight), 4.0)

    def test_decay_zero_is_the_raw_weights(self):
        model = torch.nn.Linear(1, 1, bias=False)
        average = weight_average(model, 0.0)
        with torch.no_grad():
            model.weight.fill_(3.0)
        average.update()
        with swapped_in(average) as inside:
            self.assertAlmostEqual(float(inside.weight), 3.0)
        self.assertAlmostEqual(float(average.averaged_state()["weight"]), 3.0)

    def test_rejects_a_decay_of_one(self):
        with self.assertRaises(ValueError):
            weight_average(torch.nn.Linear(1, 1), 1.0)


if __name__ == "__main__":
    unittest.main()
