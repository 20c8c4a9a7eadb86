// The offline queue's storage (IndexedDB), shared by the pages (a script tag) and the service worker
// (importScripts in templates/sw.js), so both apply the same rule when a session starts or ends.
// "pending": photos waiting to upload, each with its account ("user"); "session": who was last seen signed
// in on this device, for the offline upload page, which is anonymous (it names nobody and holds no token).
// The rule (finding M5 of issue 30): photos belong to one account. When nobody is signed in, every photo
// goes but those their owner chose to keep at logout ("parked", for 30 days at most); when someone signs
// in, everyone else's photos go, and theirs wait again.
(function (scope) {
  "use strict";
  var DB = "facediag-uploads", PENDING = "pending", SESSION = "session", VERSION = 2;
  var PARKED_MS = 30 * 24 * 3600 * 1000;
  var dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = scope.indexedDB.open(DB, VERSION);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains(PENDING)) { db.createObjectStore(PENDING, { keyPath: "key" }); }
          if (!db.objectStoreNames.contains(SESSION)) { db.createObjectStore(SESSION, { keyPath: "key" }); }
        };
        req.onsuccess = function () {
          var db = req.result;
          db.onversionchange = function () { db.close(); dbPromise = null; };  // a newer version takes over
          resolve(db);
        };
        req.onerror = function () { dbPromise = null; reject(req.error); };
        req.onblocked = function () { dbPromise = null; reject(new Error("blocked")); };
      });
    }
    return dbPromise;
  }

  // One transaction over both stores: -> what work returned (a request's result once it completes).
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction([PENDING, SESSION], mode);
        var result = work(t.objectStore(PENDING), t.objectStore(SESSION));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  // Apply the rule for `account` (a user id, or null when nobody is signed in): deletes what is not
  // theirs, in the same transaction that records who is signed in.
  function settle(account) {
    account = account ? String(account) : null;
    return tx("readwrite", function (pending, session) {
      session.put({ key: "account", user: account, seen: Date.now() });
      var cursor = pending.openCursor();
      cursor.onsuccess = function () {
        var c = cursor.result;
        if (!c) { return; }
        var item = c.value;
        if (account === null) {
          if (!item.parked || Date.now() - item.parked > PARKED_MS) { c.delete(); }
        } else if (item.user !== account) {
          c.delete();
        } else if (item.parked) {
          item.parked = null;  // its owner is back: it waits (and is sent) again
          c.update(item);
        }
        c.continue();
      };
    });
  }

  // Without a queue on this device there is nothing to settle: do not make one (an anonymous visitor).
  function exists() {
    if (!scope.indexedDB.databases) { return Promise.resolve(true); }
    return scope.indexedDB.databases().then(function (dbs) {
      return dbs.some(function (db) { return db.name === DB; });
    }, function () { return true; });
  }

  scope.FaceDiagStore = {
    // A page or answer from the server said who is signed in (null: nobody).
    sessionSeen: function (account) {
      if (!scope.indexedDB) { return Promise.resolve(); }
      return (account ? Promise.resolve(true) : exists()).then(function (any) {
        return any ? settle(account) : undefined;
      }).catch(function () {});
    },
    account: function () {
      return tx("readonly", function (pending, session) { return session.get("account"); })
        .then(function (record) { return record ? record.user : null; });
    },
    all: function () { return tx("readonly", function (pending) { return pending.getAll(); }); },
    get: function (key) { return tx("readonly", function (pending) { return pending.get(key); }); },
    put: function (item) { return tx("readwrite", function (pending) { return pending.put(item); }); },
    remove: function (key) { return tx("readwrite", function (pending) { return pending.delete(key); }); },
    // Logging out with "keep them": the person's photos stay, for them alone, until they sign in again.
    park: function (account) {
      var now = Date.now();
      return tx("readwrite", function (pending) {
        var cursor = pending.openCursor();
        cursor.onsuccess = function () {
          var c = cursor.result;
          if (!c) { return; }
          var item = c.value;
          if (item.user === String(account)) { item.parked = now; c.update(item); }
          c.continue();
        };
      });
    },
    removeAll: function (account) {
      return tx("readwrite", function (pending) {
        var cursor = pending.openCursor();
        cursor.onsuccess = function () {
          var c = cursor.result;
          if (!c) { return; }
          if (c.value.user === String(account)) { c.delete(); }
          c.continue();
        };
      });
    }
  };
})(self);
