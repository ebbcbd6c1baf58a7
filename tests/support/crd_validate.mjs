// Validates prometheus-operator custom resources (monitoring.coreos.com: ServiceMonitor,
// PrometheusRule, PodMonitor...) offline, with the compiled JSON-schema validators that the npm
// package @kubernetes-models/prometheus-operator ships. kubernetes-validate has no CRD schemas.
//
// Usage: node tests/support/crd_validate.mjs [FILE]
//   FILE (or stdin): a JSON array of documents (objects with apiVersion and kind).
//   The package is looked up in $CRD_VALIDATE_MODULES, by default .cache/k8s-tools/crd/node_modules
//   (scripts/install-k8s-tools.sh installs it there).
// Prints one line per error, naming the document (index, kind/name) and the path in it; exits 1 on
// any error, 2 when it cannot run (bad input, package missing), 0 when every document is valid.
//
// The package's schemas do not forbid unknown fields (no additionalProperties: false, unlike the API
// server's strict field validation), so a misspelled optional field would pass. This script adds
// that check: the compiled validators read every property their schema defines (`data.interval`,
// whether set or not), so a key of a schema-checked object that the validator never read is not in
// the schema. Objects the validator reads no property of (free-form ones) are not checked.

import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = resolve(
  process.env.CRD_VALIDATE_MODULES || join(here, "..", "..", ".cache", "k8s-tools", "crd", "node_modules"),
);
const packageDir = join(modules, "@kubernetes-models", "prometheus-operator");

function fatal(message) {
  console.error(`crd_validate: ${message}`);
  process.exit(2);
}

// apiVersion -> module of model classes, one export per kind.
const GROUP = "monitoring.coreos.com";
const VERSIONS = ["v1", "v1alpha1", "v1beta1"];

async function loadModels() {
  if (!existsSync(packageDir)) {
    fatal(`${packageDir} not found: run scripts/install-k8s-tools.sh`);
  }
  const models = {};
  for (const version of VERSIONS) {
    const entry = join(packageDir, GROUP, version, "index.js");
    if (existsSync(entry)) {
      models[`${GROUP}/${version}`] = await import(pathToFileURL(entry).href);
    }
  }
  return models;
}

// A proxy over `value` (and, lazily, over everything reached through it) that records, for every
// object, which keys were read.
function tracked(value, reads) {
  if (value === null || typeof value !== "object") {
    return value;
  }
  if (!reads.has(value)) {
    reads.set(value, new Set());
  }
  const keys = reads.get(value);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") keys.add(key);
      return tracked(Reflect.get(target, key, receiver), reads);
    },
    has(target, key) {
      if (typeof key === "string") keys.add(key);
      return Reflect.has(target, key);
    },
  });
}

// Keys of schema-checked objects that the validator never read: "/spec/endpoints/0/intervall".
function unknownFields(value, reads, path, found) {
  if (value === null || typeof value !== "object") return found;
  const keys = reads.get(value);
  if (keys === undefined) return found; // never reached by the validator
  if (Array.isArray(value)) {
    value.forEach((item, index) => unknownFields(item, reads, `${path}/${index}`, found));
    return found;
  }
  const ownKeys = Object.keys(value);
  if (keys.size === 0 && ownKeys.length > 0) return found; // free-form object
  for (const key of ownKeys) {
    if (keys.has(key)) {
      unknownFields(value[key], reads, `${path}/${key}`, found);
    } else {
      found.push(`${path}/${key}: unknown field (not in the CRD schema)`);
    }
  }
  return found;
}

function describe(doc, index) {
  const kind = doc && typeof doc === "object" ? doc.kind : undefined;
  const name = doc && doc.metadata && doc.metadata.name;
  const namespace = doc && doc.metadata && doc.metadata.namespace;
  return `document ${index} (${kind ?? "?"}/${namespace ? `${namespace}/` : ""}${name ?? "?"})`;
}

function validateDocument(doc, models) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return ["not an object"];
  }
  const module = models[doc.apiVersion];
  const Model = module && typeof doc.kind === "string" ? module[doc.kind] : undefined;
  if (typeof Model !== "function" || typeof Model.prototype.validate !== "function") {
    return [`no schema for apiVersion ${JSON.stringify(doc.apiVersion)} kind ${JSON.stringify(doc.kind)}`];
  }
  const data = JSON.parse(JSON.stringify(doc));
  const reads = new Map();
  const errors = [];
  try {
    // The model's validate() runs the compiled schema on `this`: run it on the tracking proxy.
    Model.prototype.validate.call(tracked(data, reads));
  } catch (error) {
    if (!Array.isArray(error.errors)) throw error;
    for (const problem of error.errors) {
      const params = problem.params ? ` ${JSON.stringify(problem.params)}` : "";
      errors.push(`${problem.instancePath || "/"}: ${problem.message}${params}`);
    }
  }
  return errors.concat(unknownFields(data, reads, "", []));
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length > 1 || args[0] === "-h" || args[0] === "--help") {
    console.error("usage: node crd_validate.mjs [FILE]   (a JSON array of documents; stdin without FILE)");
    process.exit(2);
  }
  let documents;
  try {
    documents = JSON.parse(readFileSync(args.length ? args[0] : 0, "utf8"));
  } catch (error) {
    fatal(`cannot read a JSON document array: ${error.message}`);
  }
  if (!Array.isArray(documents)) fatal("the input is not a JSON array of documents");
  const models = await loadModels();
  let failed = 0;
  documents.forEach((doc, index) => {
    const errors = validateDocument(doc, models);
    if (errors.length) {
      failed += 1;
      for (const error of errors) console.log(`ERROR ${describe(doc, index)}: ${error}`);
    } else {
      console.log(`OK ${describe(doc, index)}`);
    }
  });
  console.log(`${documents.length - failed} valid, ${failed} invalid`);
  process.exit(failed ? 1 : 0);
}

await main();
