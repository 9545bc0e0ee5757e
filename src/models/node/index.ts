/** Model folders on disk (Node): load a Hugging Face folder, save one (dense or sparse weights). */
export { loadModelConfig, loadModelFolder, type LoadedModelFolder, type LoadModelFolderOptions, type ModelFolderSource } from './model-folder.js';
export { saveModelFolder, type SavedModelFolder, type SaveModelFolderOptions } from './save-model-folder.js';
