"""The Train page's feature base: the size the README and the bench promise, with an untrained head."""

from aiart.training import recipe


def test_train_base_reads_the_train_input_size_squared():
    clf = recipe.train_base()
    assert clf.input_size == recipe.TRAIN_INPUT_SIZE == 192 and not clf.keep_aspect
    assert clf.model.input_shape[1:3] == (192, 192)
