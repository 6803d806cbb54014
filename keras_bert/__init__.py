"""keras-bert: Google's reference BERT in Keras 3 on TensorFlow 2, with its checkpoints, preprocessing,
pretraining, fine-tuning and serving."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_bert.checkpoints.google import load_google_checkpoint, save_google_checkpoint  # noqa: E402
from keras_bert.checkpoints.huggingface import (  # noqa: E402
    load_huggingface_checkpoint,
    save_huggingface_checkpoint,
)
from keras_bert.checkpoints.pretrained import load_pretrained  # noqa: E402
from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.layers.heads import (  # noqa: E402
    ClassificationHead,
    MaskedLMHead,
    NextSentenceHead,
    SpanHead,
    TokenClassificationHead,
)
from keras_bert.layers.pooling import SentencePooling  # noqa: E402
from keras_bert.models.classifier import BertClassifier  # noqa: E402
from keras_bert.models.embedder import BertEmbedder  # noqa: E402
from keras_bert.models.encoder import BertEncoder  # noqa: E402
from keras_bert.models.fill_mask import FillMask  # noqa: E402
from keras_bert.models.pretrainer import BertPretrainer  # noqa: E402
from keras_bert.models.span_labeler import BertSpanLabeler  # noqa: E402
from keras_bert.models.token_classifier import BertTokenClassifier  # noqa: E402
from keras_bert.tokenization.packing import BertPackInputs  # noqa: E402
from keras_bert.tokenization.preprocessor import BertPreprocessor  # noqa: E402
from keras_bert.tokenization.tokenizer import BertTokenizer  # noqa: E402

__all__ = ["BertConfig", "BertEncoder", "BertPretrainer", "BertClassifier", "BertSpanLabeler",
           "BertTokenClassifier", "BertEmbedder", "FillMask", "SentencePooling", "MaskedLMHead", "NextSentenceHead",
           "ClassificationHead", "SpanHead", "TokenClassificationHead", "load_google_checkpoint",
           "save_google_checkpoint", "load_huggingface_checkpoint", "save_huggingface_checkpoint", "load_pretrained",
           "BertTokenizer", "BertPackInputs", "BertPreprocessor"]
