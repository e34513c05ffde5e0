"""OLMo memmap data: instances, label masks, errors, and an order fixed by the seed."""

import numpy as np
import pytest

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.data import BatchLoader, GlobalOrder, MemmapDataset, resolve_paths


def write_ids(folder, tokens, dtype=np.uint16, mask=None):
    folder.mkdir(parents=True, exist_ok=True)
    np.asarray(tokens, dtype=dtype).tofile(folder / "input_ids.npy")  # headerless, as OLMo writes
    if mask is not None:
        np.asarray(mask, dtype=np.bool_).tofile(folder / "label_mask.npy")
    return folder / "input_ids.npy"


def test_files_are_cut_into_fixed_length_instances_dropping_tails(tmp_path):
    a = write_ids(tmp_path / "a", range(10))  # 2 instances of 4, tail of 2 dropped
    b = write_ids(tmp_path / "b", range(100, 112), dtype=np.uint32)
    data = MemmapDataset([a], 4, np.uint16)
    assert len(data) == 2 and data[1][0].tolist() == [4, 5, 6, 7] and data[1][1] is None
    assert MemmapDataset([b], 4, np.uint32)[2][0].tolist() == [108, 109, 110, 111]


def test_label_mask_is_read_beside_the_tokens(tmp_path):
    path = write_ids(tmp_path, range(8), mask=[1, 0] * 4)
    assert MemmapDataset([path], 4, np.uint16)[1][1].tolist() == [True, False, True, False]


def test_bad_files_are_input_errors_that_say_how_to_fix_them(tmp_path):
    with pytest.raises(InputFileError, match="prepare-data"):
        resolve_paths([str(tmp_path / "missing")])
    odd = tmp_path / "odd" / "input_ids.npy"
    odd.parent.mkdir()
    odd.write_bytes(b"\x00" * 7)
    with pytest.raises(InputFileError, match="multiple of the token size"):
        MemmapDataset([odd], 2, np.uint16)
    masked = write_ids(tmp_path / "m", range(8))
    (tmp_path / "m" / "label_mask.npy").write_bytes(b"\x01" * 5)
    with pytest.raises(InputFileError, match="one byte per token"):
        MemmapDataset([masked], 4, np.uint16)


def test_global_order_is_the_same_across_restarts_and_differs_by_seed():
    first = [GlobalOrder(100, 7, 8, 0, 1).rank_indices(b).tolist() for b in range(30)]
    again = GlobalOrder(100, 7, 8, 0, 1)
    assert [again.rank_indices(b).tolist() for b in range(30)] == first  # a restart reads the same
    assert GlobalOrder(100, 8, 8, 0, 1).rank_indices(0).tolist() != first[0]
    assert sorted(sum(first[:12], [])) == sorted(set(sum(first[:12], [])))  # no repeats in an epoch
    assert first[12] != first[0]  # epoch 2 is shuffled anew


def test_ranks_split_each_global_batch_into_disjoint_slices():
    whole = GlobalOrder(64, 3, 8, 0, 1).rank_indices(5).tolist()
    halves = [GlobalOrder(64, 3, 8, r, 2).rank_indices(5).tolist() for r in (0, 1)]
    assert halves[0] + halves[1] == whole


def test_a_global_batch_larger_than_the_data_is_a_config_error():
    with pytest.raises(ConfigError, match="global_batch_size"):
        GlobalOrder(4, 0, 8, 0, 1)


def test_loader_returns_int64_ids_and_bool_masks(tmp_path):
    path = write_ids(tmp_path, range(64), mask=[1] * 64)
    loader = BatchLoader(MemmapDataset([path], 8, np.uint16), GlobalOrder(8, 0, 4, 0, 1))
    batch = loader.batch(0)
    assert batch["input_ids"].shape == (4, 8) and str(batch["input_ids"].dtype) == "torch.int64"
    assert batch["label_mask"].all()


def test_the_order_stored_in_the_run_dir_equals_the_computed_one(tmp_path):
    stored = GlobalOrder(50, 7, 5, 0, 1, folder=tmp_path)
    computed = GlobalOrder(50, 7, 5, 0, 1)
    assert [stored.rank_indices(b).tolist() for b in range(25)] == \
        [computed.rank_indices(b).tolist() for b in range(25)]
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == \
        ["data_order.seed7.epoch0.npy", "data_order.seed7.epoch1.npy", "data_order.seed7.epoch2.npy"]
    assert np.load(tmp_path / "data_order.seed7.epoch0.npy").dtype == np.uint32
