"""keras-bert: Google's reference BERT in Keras 3 on TensorFlow 2, with its checkpoints, preprocessing,
pretraining, fine-tuning and serving."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_bert.checkpoints import load_google_checkpoint, save_google_checkpoint  # noqa: E402
from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.encoder import BertEncoder  # noqa: E402
from keras_bert.heads import (ClassificationHead, MaskedLMHead, NextSentenceHead, SpanHead,  # noqa: E402
                              TokenClassificationHead)
from keras_bert.models import (BertClassifier, BertPretrainer, BertSpanLabeler,  # noqa: E402
                               BertTokenClassifier)
from keras_bert.tokenization import BertPackInputs, BertPreprocessor, BertTokenizer  # noqa: E402

__all__ = ["BertConfig", "BertEncoder", "BertPretrainer", "BertClassifier", "BertSpanLabeler",
           "BertTokenClassifier", "MaskedLMHead", "NextSentenceHead", "ClassificationHead", "SpanHead",
           "TokenClassificationHead", "load_google_checkpoint", "save_google_checkpoint",
           "BertTokenizer", "BertPackInputs", "BertPreprocessor"]
