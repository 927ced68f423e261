"""The training commands (pretrain, linear_eval, finetune, prepare_data, export_onnx): thin
command-line scripts over masksem_core, installed as the package ``masksem_training``."""
