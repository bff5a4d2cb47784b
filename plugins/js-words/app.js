// Word count in JavaScript: the functions of plugins/words, plus a running sum.
// Built by plugins/build.sh with `sluice plugin build app.js -o ../dist/js-words.wasm`.
import { flatMap, reduce, updateState } from "sluice-plugin";

const words = (line) => line.split(/\s+/).filter((w) => w.length > 0);

flatMap(function split(line) {
  return words(line);
});

flatMap(function split_pairs(line) {
  return words(line).map((w) => [w, 1]);
});

reduce(function sum(a, b) {
  return a + b;
});

updateState(function running_sum(counts, total) {
  return counts.reduce((a, b) => a + b, total ?? 0);
});
