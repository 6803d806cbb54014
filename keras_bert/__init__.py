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
from keras_bert.models.encoder import BertEncoder  # noqa: E402
from keras_bert.models.task_models import BertClassifier, BertPretrainer, BertSpanLabeler, BertTokenClassifier  # noqa: E402
from keras_bert.tokenization.tokenizer import BertPackInputs, BertPreprocessor, BertTokenizer  # noqa: E402

__all__ = ["BertConfig", "BertEncoder", "BertPretrainer", "BertClassifier", "BertSpanLabeler",
           "BertTokenClassifier", "MaskedLMHead", "NextSentenceHead", "ClassificationHead", "SpanHead",
           "TokenClassificationHead", "load_google_checkpoint", "save_google_checkpoint",
           "BertTokenizer", "BertPackInputs", "BertPreprocessor"]
