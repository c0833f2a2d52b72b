import unittest

import main


class MainTest(unittest.TestCase):
    def test_greets_by_name(self):
        self.assertEqual(main.GREETING, "hello")
        self.assertEqual(main.main(["main.py", "Ada"]), 0)


if __name__ == "__main__":
    unittest.main()
