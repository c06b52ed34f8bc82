"""Rewards the RL tests train on: the evaluation's grader gives an untrained model all 0s, so groups would carry
no signal."""


def parity_reward(texts, problems):
    """A reward an untrained model earns about half the time: "correct" = an odd-length output."""
    return [float(len(t) % 2) for t in texts]
