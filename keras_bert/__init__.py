"""keras-bert: Google's reference BERT in Keras 3 on TensorFlow 2, with its checkpoints, preprocessing,
pretraining, fine-tuning and serving."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_bert.checkpoints.google import load_google_checkpoint, save_google_checkpoint  # noqa: E402
from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.layers.heads import (  # noqa: E402
    ClassificationHead,
    MaskedLMHead,
    NextSentenceHead,
    SpanHead,
    TokenClassificationHead,
)
from keras_bert.models.classifier import BertClassifier  # noqa: E402
from keras_bert.models.encoder import BertEncoder  # noqa: E402
from keras_bert.models.pretrainer import BertPretrainer  # noqa: E402
from keras_bert.models.span_labeler import BertSpanLabeler  # noqa: E402
from keras_bert.models.token_classifier import BertTokenClassifier  # noqa: E402
from keras_bert.tokenization.packing import BertPackInputs  # noqa: E402
from keras_bert.tokenization.preprocessor import BertPreprocessor  # noqa: E402
from keras_bert.tokenization.tokenizer import BertTokenizer  # noqa: E402

__all__ = ["BertConfig", "BertEncoder", "BertPretrainer", "BertClassifier", "BertSpanLabeler",
           "BertTokenClassifier", "MaskedLMHead", "NextSentenceHead", "ClassificationHead", "SpanHead",
           "TokenClassificationHead", "load_google_checkpoint", "save_google_checkpoint",
           "BertTokenizer", "BertPackInputs", "BertPreprocessor"]
