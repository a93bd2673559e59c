"""Language branch: an instruction string -> a 64-d encoding (paper section 5, Figure 3)."""
import sonnet as snt
import tensorflow as tf

NUM_HASH_BUCKETS = 1000
EMBEDDING_SIZE = 20
LSTM_SIZE = 64


class InstructionEncoder(snt.Module):
  """Words hashed into buckets, embedded, run through an LSTM; returns the last valid output.

  An empty instruction encodes to zeros. Hashing instead of a vocabulary means any level's words
  work unseen, at the small risk of two words sharing a bucket.
  """

  def __init__(self, name='instruction_encoder'):
    super().__init__(name=name)
    self._embed = snt.Embed(NUM_HASH_BUCKETS, EMBEDDING_SIZE, name='embed')
    self._lstm = snt.LSTM(LSTM_SIZE, name='lstm')

  def __call__(self, instructions):
    """instructions: tf.string [B] -> float32 [B, 64]."""
    words = tf.strings.split(instructions)  # Ragged [B, None], split on whitespace.
    lengths = tf.cast(words.row_lengths(), tf.int32)
    words = words.to_tensor(default_value='')
    # At least one (padding) column, so the embedding and LSTM run, and create their variables,
    # even when every instruction in the batch is empty.
    no_words = tf.cast(tf.equal(tf.shape(words)[1], 0), tf.int32)
    words = tf.pad(words, [[0, 0], [0, no_words]])
    embedded = self._embed(tf.strings.to_hash_bucket_fast(words, NUM_HASH_BUCKETS))
    batch_size = tf.shape(instructions)[0]
    # With sequence_length, the state stops changing after each row's last word, so the final
    # hidden state is the output at the last valid word (the zero initial state if there is none).
    _, final_state = snt.dynamic_unroll(
        self._lstm, tf.transpose(embedded, [1, 0, 2]), self._lstm.initial_state(batch_size),
        sequence_length=lengths)
    return final_state.hidden
