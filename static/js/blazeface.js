// The server's face detector in the page: MediaPipe's BlazeFace, the same two models as ml/core/faces.py
// (short range at 128 px, then full range at 192 px when it finds nothing), run in plain JavaScript from the
// graph and weights that scripts/export_blazeface.py wrote to static/vendor/blazeface/. The letterbox, the
// area resize, the anchors, the decoding, MIN_SCORE, the overlap rule, MIN_FACE_FRACTION and the small-face
// search follow ml/core/faces.py line by line, so "come closer" means the same on both sides.
// window.FaceDiagBlazeFace = { load(url), pixels(source, width, height), detectFaces(pixels, lookForSmall) }.
(function (root) {
  "use strict";
  var spec = null, models = null, loading = null;

  function half(bits) {  // IEEE 754 half -> float
    var s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, f = bits & 0x3ff;
    if (e === 0) { return s * f * Math.pow(2, -24); }
    if (e === 31) { return f ? NaN : s * Infinity; }
    return s * (1 + f / 1024) * Math.pow(2, e - 15);
  }

  function weights(buffer, entry) {
    var n = entry.shape.reduce(function (a, b) { return a * b; }, 1), out = new Float32Array(n), i;
    if (entry.dtype === "f16") {
      var h = new Uint16Array(buffer, entry.offset, n);
      for (i = 0; i < n; i++) { out[i] = half(h[i]); }
    } else {  // int8, one float16 scale per output channel (the first axis)
      var q = new Int8Array(buffer, entry.offset, n), rows = entry.shape[0], per = n / rows;
      var scales = new Uint16Array(buffer, entry.scales, rows);
      for (i = 0; i < n; i++) { out[i] = q[i] * half(scales[(i / per) | 0]); }
    }
    return out;
  }

  function prepare(model, buffer) {
    model.ops.forEach(function (op) {
      if (!op.weights) { return; }
      var w = weights(buffer, op.weights), s = op.weights.shape;  // [O, KH, KW, I]
      if (op.op === "depthwise_conv_2d") {  // exported per channel [C, KH, KW, 1]: back to [KH, KW, C]
        var c = s[0], k = s[1] * s[2], t = new Float32Array(w.length);
        for (var ch = 0; ch < c; ch++) { for (var j = 0; j < k; j++) { t[j * c + ch] = w[ch * k + j]; } }
        w = t;
      }
      op.w = w; op.kh = s[1]; op.kw = s[2];
      op.b = weights(buffer, op.bias);
    });
    model.anchors = anchors(model.side, model.strides);
    return model;
  }

  function load(url) {
    if (loading) { return loading; }
    loading = fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("BlazeFace graph: " + r.status); }
      return r.json();
    }).then(function (json) {
      var names = Object.keys(json.models);
      return Promise.all(names.map(function (name) {
        return fetch(new URL(json.models[name].weights, new URL(url, location.href)).href, { credentials: "same-origin" })
          .then(function (r) {
            if (!r.ok) { throw new Error("BlazeFace weights: " + r.status); }
            return r.arrayBuffer();
          }).then(function (buffer) { return prepare(json.models[name], buffer); });
      })).then(function (list) {
        spec = json;
        models = { short: list[names.indexOf("short")], full: list[names.indexOf("full")] };
        return api;
      });
    });
    loading.catch(function () { loading = null; });  // offline without the files: try again next time
    return loading;
  }

  // -- the operators (NHWC, batch 1) -------------------------------------------------------------------------
  function same(size, k, stride) {
    var out = Math.ceil(size / stride), total = Math.max((out - 1) * stride + k - size, 0);
    return { out: out, before: Math.floor(total / 2) };
  }
  function geometry(x, op, kh, kw) {
    var sh = op.stride[0], sw = op.stride[1];
    if (op.padding === "same") {
      var gh = same(x.h, kh, sh), gw = same(x.w, kw, sw);
      return { oh: gh.out, ow: gw.out, pt: gh.before, pl: gw.before, sh: sh, sw: sw };
    }
    return { oh: Math.floor((x.h - kh) / sh) + 1, ow: Math.floor((x.w - kw) / sw) + 1, pt: 0, pl: 0, sh: sh, sw: sw };
  }

  function conv(x, op) {
    var o = op.b.length, ci = x.c, kh = op.kh, kw = op.kw, g = geometry(x, op, kh, kw);
    var out = new Float32Array(g.oh * g.ow * o), w = op.w, b = op.b, d = x.d, relu = op.act === "relu";
    for (var oy = 0; oy < g.oh; oy++) {
      for (var ox = 0; ox < g.ow; ox++) {
        var base = (oy * g.ow + ox) * o;
        for (var oc = 0; oc < o; oc++) {
          var acc = b[oc];
          for (var ky = 0; ky < kh; ky++) {
            var iy = oy * g.sh + ky - g.pt;
            if (iy < 0 || iy >= x.h) { continue; }
            for (var kx = 0; kx < kw; kx++) {
              var ix = ox * g.sw + kx - g.pl;
              if (ix < 0 || ix >= x.w) { continue; }
              var xi = (iy * x.w + ix) * ci, wi = ((oc * kh + ky) * kw + kx) * ci;
              for (var c = 0; c < ci; c++) { acc += d[xi + c] * w[wi + c]; }
            }
          }
          out[base + oc] = relu && acc < 0 ? 0 : acc;
        }
      }
    }
    return { d: out, h: g.oh, w: g.ow, c: o };
  }

  function depthwise(x, op) {
    var c = x.c, kh = op.kh, kw = op.kw, g = geometry(x, op, kh, kw), out = new Float32Array(g.oh * g.ow * c);
    var w = op.w, b = op.b, d = x.d, relu = op.act === "relu", ch;
    for (var oy = 0; oy < g.oh; oy++) {
      for (var ox = 0; ox < g.ow; ox++) {
        var base = (oy * g.ow + ox) * c;
        for (ch = 0; ch < c; ch++) { out[base + ch] = b[ch]; }
        for (var ky = 0; ky < kh; ky++) {
          var iy = oy * g.sh + ky - g.pt;
          if (iy < 0 || iy >= x.h) { continue; }
          for (var kx = 0; kx < kw; kx++) {
            var ix = ox * g.sw + kx - g.pl;
            if (ix < 0 || ix >= x.w) { continue; }
            var xi = (iy * x.w + ix) * c, wi = (ky * kw + kx) * c;
            for (ch = 0; ch < c; ch++) { out[base + ch] += d[xi + ch] * w[wi + ch]; }
          }
        }
        if (relu) { for (ch = 0; ch < c; ch++) { if (out[base + ch] < 0) { out[base + ch] = 0; } } }
      }
    }
    return { d: out, h: g.oh, w: g.ow, c: c };
  }

  function maxPool(x, op) {
    var g = geometry(x, op, op.size[0], op.size[1]), c = x.c, out = new Float32Array(g.oh * g.ow * c);
    for (var oy = 0; oy < g.oh; oy++) {
      for (var ox = 0; ox < g.ow; ox++) {
        for (var ch = 0; ch < c; ch++) {
          var m = -Infinity;
          for (var ky = 0; ky < op.size[0]; ky++) {
            var iy = oy * g.sh + ky - g.pt;
            if (iy < 0 || iy >= x.h) { continue; }
            for (var kx = 0; kx < op.size[1]; kx++) {
              var ix = ox * g.sw + kx - g.pl;
              if (ix < 0 || ix >= x.w) { continue; }
              var v = x.d[(iy * x.w + ix) * c + ch];
              if (v > m) { m = v; }
            }
          }
          out[(oy * g.ow + ox) * c + ch] = m;
        }
      }
    }
    return { d: out, h: g.oh, w: g.ow, c: c };
  }

  function pad(x, p) {  // p: [[0, 0], [top, bottom], [left, right], [before, after]]
    var h = x.h + p[1][0] + p[1][1], w = x.w + p[2][0] + p[2][1], c = x.c + p[3][0] + p[3][1];
    var out = new Float32Array(h * w * c);
    for (var y = 0; y < x.h; y++) {
      for (var xx = 0; xx < x.w; xx++) {
        var src = (y * x.w + xx) * x.c, dst = ((y + p[1][0]) * w + xx + p[2][0]) * c + p[3][0];
        out.set(x.d.subarray(src, src + x.c), dst);
      }
    }
    return { d: out, h: h, w: w, c: c };
  }

  function add(a, b, relu) {
    var out = new Float32Array(a.d.length);
    for (var i = 0; i < out.length; i++) { var v = a.d[i] + b.d[i]; out[i] = relu && v < 0 ? 0 : v; }
    return { d: out, h: a.h, w: a.w, c: a.c };
  }

  function resizeBilinear(x, op) {  // TFLite's reference kernel (half-pixel centres, no corner alignment)
    var oh = op.size[0], ow = op.size[1], c = x.c, out = new Float32Array(oh * ow * c);
    var sy = op.align_corners && oh > 1 ? (x.h - 1) / (oh - 1) : x.h / oh;
    var sx = op.align_corners && ow > 1 ? (x.w - 1) / (ow - 1) : x.w / ow;
    var off = op.half_pixel_centers ? 0.5 : 0;
    for (var y = 0; y < oh; y++) {
      var fy = (y + off) * sy - off, y0 = Math.max(Math.floor(fy), 0), y1 = Math.min(Math.ceil(fy), x.h - 1), dy = fy - y0;
      for (var xx = 0; xx < ow; xx++) {
        var fx = (xx + off) * sx - off, x0 = Math.max(Math.floor(fx), 0), x1 = Math.min(Math.ceil(fx), x.w - 1), dx = fx - x0;
        for (var ch = 0; ch < c; ch++) {
          var at = function (yy, xq) { return x.d[(yy * x.w + xq) * c + ch]; };
          out[(y * ow + xx) * c + ch] = at(y0, x0) * (1 - dy) * (1 - dx) + at(y1, x0) * dy * (1 - dx) +
            at(y0, x1) * (1 - dy) * dx + at(y1, x1) * dy * dx;
        }
      }
    }
    return { d: out, h: oh, w: ow, c: c };
  }

  function forward(model, input) {
    var t = {};
    t[model.input] = input;
    model.ops.forEach(function (op) {
      var x = t[op.input], r;
      switch (op.op) {
        case "conv_2d": r = conv(x, op); break;
        case "depthwise_conv_2d": r = depthwise(x, op); break;
        case "max_pool_2d": r = maxPool(x, op); break;
        case "pad": r = pad(x, op.paddings); break;
        case "relu": r = add(x, { d: new Float32Array(x.d.length) }, true); break;
        case "add": r = add(t[op.inputs[0]], t[op.inputs[1]], op.act === "relu"); break;
        case "resize_bilinear": r = resizeBilinear(x, op); break;
        case "reshape": r = { d: x.d }; break;  // row-major: the data stay as they are
        case "concatenation":
          var parts = op.inputs.map(function (i) { return t[i].d; }), n = 0;
          r = { d: new Float32Array(parts.reduce(function (s, p) { return s + p.length; }, 0)) };
          parts.forEach(function (p) { r.d.set(p, n); n += p.length; });
          break;
        default: throw new Error("BlazeFace: unknown operator " + op.op);
      }
      t[op.out] = r;
    });
    return { boxes: t[model.outputs.boxes].d, scores: t[model.outputs.scores].d };
  }

  // -- anchors and decoding (ml/core/faces.py: _anchors, _Detector.__call__) ------------------------------
  function anchors(side, strides) {
    var out = [], i = 0;
    while (i < strides.length) {
      var j = i, repeats = 0;
      while (j < strides.length && strides[j] === strides[i]) { j++; repeats += strides.length > 1 ? 2 : 1; }
      var cells = Math.floor(side / strides[i]);
      for (var y = 0; y < cells; y++) {
        for (var x = 0; x < cells; x++) {
          for (var r = 0; r < repeats; r++) { out.push([(x + 0.5) / cells, (y + 0.5) / cells]); }
        }
      }
      i = j;
    }
    return out;
  }

  function iou(a, b) {
    var ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    var iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    var inter = ix * iy, union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return union > 0 ? inter / union : 0;
  }

  // The model's input from a region of ``px`` (RGBA): padded to a square (the image centred, black around
  // it), resized to the model's side like cv2.resize(INTER_AREA), then scaled to [-1, 1].
  function letterbox(px, rect, side) {
    var big = Math.max(rect.w, rect.h), oy = Math.floor((big - rect.h) / 2), ox = Math.floor((big - rect.w) / 2);
    var rows = resizeTable(big, side), cols = resizeTable(big, side);
    var tmp = new Float32Array(big * side * 3), out = new Float32Array(side * side * 3), data = px.data;
    for (var sy = 0; sy < big; sy++) {
      var iy = sy - oy;
      if (iy < 0 || iy >= rect.h) { continue; }  // padding: zeros
      for (var dx = 0; dx < side; dx++) {
        var r = 0, g = 0, b = 0, taps = cols[dx];
        for (var k = 0; k < taps.length; k += 2) {
          var ix = taps[k] - ox;
          if (ix < 0 || ix >= rect.w) { continue; }
          var p = ((rect.y + iy) * px.width + rect.x + ix) * 4, wgt = taps[k + 1];
          r += data[p] * wgt; g += data[p + 1] * wgt; b += data[p + 2] * wgt;
        }
        var q = (sy * side + dx) * 3;
        tmp[q] = r; tmp[q + 1] = g; tmp[q + 2] = b;
      }
    }
    for (var dy = 0; dy < side; dy++) {
      var tr = rows[dy];
      for (var x = 0; x < side; x++) {
        for (var ch = 0; ch < 3; ch++) {
          var v = 0;
          for (var t = 0; t < tr.length; t += 2) { v += tmp[(tr[t] * side + x) * 3 + ch] * tr[t + 1]; }
          v = Math.min(255, Math.max(0, Math.round(v)));  // the resized image is uint8, as on the server
          out[(dy * side + x) * 3 + ch] = v / 127.5 - 1;
        }
      }
    }
    return { d: out, h: side, w: side, c: 3, oy: oy, ox: ox, big: big };
  }

  // [source index, weight, ...] per output pixel: OpenCV's area table when shrinking, bilinear when growing.
  function resizeTable(from, to) {
    var scale = from / to, out = [];
    for (var d = 0; d < to; d++) {
      var taps = [];
      if (scale >= 1) {
        var f1 = d * scale, f2 = f1 + scale, cell = Math.min(scale, from - f1);
        var s1 = Math.ceil(f1), s2 = Math.floor(f2);
        s2 = Math.min(s2, from - 1); s1 = Math.min(s1, s2);
        if (s1 - f1 > 1e-3) { taps.push(s1 - 1, (s1 - f1) / cell); }
        for (var s = s1; s < s2; s++) { taps.push(s, 1 / cell); }
        if (f2 - s2 > 1e-3) { taps.push(s2, Math.min(Math.min(f2 - s2, 1), cell) / cell); }
      } else {
        var fx = (d + 0.5) * scale - 0.5, x0 = Math.floor(fx), a = fx - x0;
        if (x0 < 0) { x0 = 0; a = 0; }
        if (x0 >= from - 1) { x0 = from - 1; a = 0; }
        taps.push(x0, 1 - a);
        if (a > 0) { taps.push(x0 + 1, a); }
      }
      out.push(taps);
    }
    return out;
  }

  // -> [{score, box: [x0, y0, x1, y1], keypoints: [[x, y] x 6]}] in the pixels of ``px``, strongest first.
  function run(model, px, rect) {
    var x = letterbox(px, rect, model.side), res = forward(model, x), side = model.side, found = [], i;
    var keep = [];
    for (i = 0; i < res.scores.length; i++) {
      var raw = Math.min(80, Math.max(-80, res.scores[i])), score = 1 / (1 + Math.exp(-raw));
      if (score >= spec.min_score) { keep.push([score, i]); }
    }
    keep.sort(function (a, b) { return b[0] - a[0]; });
    keep.forEach(function (k) {
      var j = k[1], r = res.boxes.subarray(j * 16, j * 16 + 16), an = model.anchors[j];
      var cx = r[0] / side + an[0], cy = r[1] / side + an[1], bw = r[2] / side, bh = r[3] / side;
      var box = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2];
      if (bw <= 0 || bh <= 0 || found.some(function (f) { return iou(box, f.box) > 0.3; })) { return; }
      var kps = [];
      for (var p = 0; p < 6; p++) { kps.push([r[4 + 2 * p] / side + an[0], r[5 + 2 * p] / side + an[1]]); }
      found.push({ score: k[0], box: box, keypoints: kps });
    });
    return found.map(function (f) {  // back to the pixels of px
      var s = x.big;
      return { score: f.score,
               box: [f.box[0] * s - x.ox + rect.x, f.box[1] * s - x.oy + rect.y, f.box[2] * s - x.ox + rect.x, f.box[3] * s - x.oy + rect.y],
               keypoints: f.keypoints.map(function (k) { return [k[0] * s - x.ox + rect.x, k[1] * s - x.oy + rect.y]; }) };
    });
  }

  function largest(found, w, h, kind) {
    if (!found.length) { return null; }
    var f = found.reduce(function (a, b) {
      return (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]) > (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]) ? b : a;
    });
    var x0 = Math.max(0, Math.round(f.box[0])), y0 = Math.max(0, Math.round(f.box[1]));
    var x1 = Math.min(w, Math.round(f.box[2])), y1 = Math.min(h, Math.round(f.box[3]));
    if (x1 - x0 < 2 || y1 - y0 < 2) { return null; }
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0, kind: kind, score: f.score, keypoints: f.keypoints };
  }

  // ml/core/faces.detect_faces: -> {face: the largest face of a judgeable size or null, small: else a face
  // under MIN_FACE_FRACTION of the shorter side or null}, in the pixels of ``px`` ({data, width, height}).
  // ``noTiles``: look for a small face in the whole-photo pass only (a live view: the tiles are too slow).
  function detectFaces(px, lookForSmall, noTiles) {
    if (lookForSmall === undefined) { lookForSmall = true; }
    var w = px.width, h = px.height, minSide = spec.min_face_fraction * Math.min(h, w), small = [], names = ["short", "full"];
    var whole = { x: 0, y: 0, w: w, h: h };
    for (var n = 0; n < names.length; n++) {
      var found = run(models[names[n]], px, whole);
      var face = largest(found.filter(function (f) {
        return Math.min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= minSide;
      }), w, h, names[n]);
      if (face) { return { face: face, small: null }; }
      small = small.concat(found.filter(function (f) { return f.score >= spec.small_face_score; }));
    }
    if (!lookForSmall) { return { face: null, small: null }; }
    if (!noTiles && !small.length && Math.min(h, w) >= spec.tile_from_side) {
      var tile = Math.floor(Math.min(h, w) / 2), step = Math.floor(tile * 3 / 4);
      var starts = function (size) {
        var s = [];
        for (var v = 0; v <= size - tile; v += step) { s.push(v); }
        if (s.indexOf(size - tile) < 0) { s.push(size - tile); }
        return s.sort(function (a, b) { return a - b; });
      };
      starts(h).forEach(function (y) {
        starts(w).forEach(function (x) {
          run(models.full, px, { x: x, y: y, w: tile, h: tile }).forEach(function (f) {
            if (f.score >= spec.small_face_score) { small.push(f); }
          });
        });
      });
    }
    return { face: null, small: largest(small, w, h, "small") };
  }

  // The RGBA pixels of an <img>, <video> or <canvas> as the server decodes it: a photo at least 2048 px long
  // is read at 1/2, 1/4 or 1/8 of its size (its longest side still at least 1024, ml/core/preprocess.decode);
  // ``scale``: the source's pixels per pixel read.
  function pixels(source, width, height) {
    var long = Math.max(width, height), scale = 1;
    while (scale < 8 && long / (scale * 2) >= 1024 && long >= 2048) { scale *= 2; }
    var w = Math.ceil(width / scale), h = Math.ceil(height / scale);
    var canvas = document.createElement("canvas");
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, w, h);
    var data = ctx.getImageData(0, 0, w, h);
    return { data: data.data, width: w, height: h, scale: width / w };
  }

  var api = { load: load, pixels: pixels, detectFaces: detectFaces, resizeTable: resizeTable,
              settings: function () { return spec; } };
  root.FaceDiagBlazeFace = api;
})(window);
