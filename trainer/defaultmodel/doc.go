// Package defaultmodel is the recipe of medqa's embedded default model
// (assets/model): recipe.sh (`make default-model`) runs data → vocab →
// train --full → eval → quantize → ship, config.json is the model's shape,
// and the tests check the shipped model end to end. The shape was chosen
// with BenchmarkTrainStep; see the model card in assets/model/README.md.
package defaultmodel
