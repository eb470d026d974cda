"""Accuracy of an ensemble of trained networks from their test predictions:
``python -m train_scripts.ensemble A_predictions_test.csv B_predictions_test.csv ...``

Each file is what ``test`` writes with REC_PREDICTIONS=True (one row per
test sample with its output scores); the ensemble averages the models'
class probabilities per sample. Prints one JSON line: the ensemble's
accuracy, each member's, and the number of samples.
"""
import argparse
import json
import sys

from simulators.ensemble import ensemble_files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", metavar="NAME_predictions_test.csv")
    a = ap.parse_args(argv)
    try:
        res = ensemble_files(a.files)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"acc": round(res["acc"], 4), "n": res["n"],
                      "member_acc": [round(x, 4) for x in res["member_acc"]],
                      "files": a.files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
