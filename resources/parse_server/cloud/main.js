Parse.Cloud.define('ping', () => 'pong');
