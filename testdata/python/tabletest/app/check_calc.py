import os
import unittest

import calc


class CalcTest(unittest.TestCase):
    def test_env(self):
        self.assertEqual(os.environ.get("CALC_MODE"), "test")

    def test_add(self):
        self.assertEqual(calc.add(2, 3), 5)
