<?php

declare(strict_types=1);

namespace Spikard\Tests;

require_once __DIR__ . '/apps/dtos.php';

use PHPUnit\Framework\TestCase;
use Spikard\App;
use Spikard\Request;
use Spikard\Schema;
use Spikard\SpikardException;
use Spikard\Tests\Apps\Address;
use Spikard\Tests\Apps\Role;
use Spikard\Tests\Apps\UserDto;

/** Declarations become the configuration document, once, at registration. */
final class SchemaTest extends TestCase
{
    public function testDtoSchema(): void
    {
        $s = json_decode(json_encode(Schema::fromClass(UserDto::class)), true);
        self::assertSame('object', $s['type']);
        self::assertSame(['name', 'age'], $s['required']);
        self::assertSame(['maxLength' => 40, 'minLength' => 1, 'type' => 'string'], self::sorted($s['properties']['name']));
        self::assertSame(['maximum' => 150, 'minimum' => 0, 'type' => 'integer'], self::sorted($s['properties']['age']));
        self::assertSame(['default' => 'user', 'enum' => ['admin', 'user'], 'type' => 'string'], self::sorted($s['properties']['role']));
        self::assertSame('null', $s['properties']['address']['anyOf'][1]['type']);
        self::assertSame(['city'], $s['properties']['address']['anyOf'][0]['required']);
        self::assertSame(['default' => [], 'items' => ['type' => 'string'], 'type' => 'array'], self::sorted($s['properties']['tags']));
        self::assertSame(['default' => 0, 'type' => 'number'], self::sorted($s['properties']['score']));
    }

    public function testHydratorBuildsNestedObjects(): void
    {
        $h = Schema::hydrator(UserDto::class);
        $u = $h(['name' => 'ann', 'age' => 30, 'role' => 'admin', 'address' => ['city' => 'Oslo'], 'score' => 3, 'extra' => 1]);
        self::assertInstanceOf(UserDto::class, $u);
        self::assertSame(Role::Admin, $u->role);
        self::assertInstanceOf(Address::class, $u->address);
        self::assertSame('Oslo', $u->address->city);
        self::assertSame(3.0, $u->score);
    }

    public function testEmptySchemasBecomeObjects(): void
    {
        self::assertSame('{"type":"object","properties":{}}', json_encode(Schema::normalize(['type' => 'object', 'properties' => []])));
        self::assertSame('{}', json_encode(Schema::normalize([])));
        self::assertSame('{"type":"array","items":{}}', json_encode(Schema::normalize(['type' => 'array', 'items' => []])));
    }

    public function testClosureRouteDocument(): void
    {
        $app = new App(server: ['max_body_bytes' => 1024]);
        $app->post('/users/{org}', fn (string $org, UserDto $u) => [], query: ['dry' => ['type' => 'boolean', 'default' => false]], name: 'create');
        $doc = json_decode($app->configJson(), true);
        self::assertSame(1, $doc['version']);
        self::assertSame(1024, $doc['server']['max_body_bytes']);
        $r = $doc['routes'][0];
        self::assertSame(['method' => 'POST', 'path' => '/users/{org}', 'handler' => 'create'], array_slice($r, 0, 3));
        self::assertSame(['dry' => ['type' => 'boolean', 'default' => false]], $r['parameters']['query']);
        self::assertSame(['name', 'age'], $r['body_schema']['required']);
    }

    public function testControllerDocument(): void
    {
        $app = require __DIR__ . '/apps/controllers.php';
        $doc = json_decode($app->configJson(), true);
        $routes = [];
        foreach ($doc['routes'] as $r) {
            $routes[$r['method'] . ' ' . $r['path']] = $r;
        }
        self::assertSame(['GET /api/users', 'GET /api/users/{id:int}', 'POST /api/users', 'PUT /api/users/{id:int}', 'DELETE /api/users/{id:int}', 'GET /api/users/config/region'], array_keys($routes));
        $list = $routes['GET /api/users'];
        self::assertSame(['type' => 'integer', 'default' => 10, 'optional' => true], $list['parameters']['query']['limit']);
        self::assertSame(['type' => 'string', 'enum' => ['admin', 'user'], 'optional' => true], $list['parameters']['query']['role']);
        $create = $routes['POST /api/users'];
        self::assertSame('UserController.create', $create['handler']);
        self::assertSame(['name', 'age'], $create['body_schema']['required']);
        self::assertSame(['type' => 'object', 'required' => ['id']], $create['response_schema']);
        self::assertSame(['type' => 'string', 'default' => 'none', 'optional' => true], $create['parameters']['headers']['x-tenant']);
        self::assertSame(['settings'], $routes['GET /api/users/config/region']['handler_dependencies']);
        self::assertSame(['settings' => ['type' => 'value', 'value' => ['region' => 'eu-west']]], $doc['dependencies']);
    }

    public function testHooksAndFactoriesDocument(): void
    {
        $app = require __DIR__ . '/apps/hooks_di.php';
        $doc = json_decode($app->configJson(), true);
        self::assertSame(['name' => 'blocker', 'handler' => 'hook.on_request.0'], $doc['middleware']['lifecycle_hooks']['on_request'][0]);
        self::assertSame(['type' => 'factory', 'factory' => 'factory.greeter', 'depends_on' => ['config', 'requestNo']], $doc['dependencies']['greeter']);
        self::assertTrue($doc['dependencies']['pool']['singleton']);
        self::assertTrue($doc['dependencies']['pool']['cleanup']);
    }

    public function testUnboundParameterIsRejectedAtRegistration(): void
    {
        $this->expectException(SpikardException::class);
        $this->expectExceptionMessage('cannot tell what parameter $mystery receives');
        (new App())->get('/x', fn (Request $r, int $mystery) => []);
    }

    public function testUnknownHookPhase(): void
    {
        $this->expectException(SpikardException::class);
        (new App())->hook('before_everything', fn () => null);
    }

    public function testFakeRequestForUnitTests(): void
    {
        $r = Request::fake(['path' => ['id' => 3], 'query' => ['q' => 'x']], 'GET', '/items/3');
        self::assertSame(3, $r->path['id']);
        self::assertSame('GET', $r->method());
        self::assertSame('/items/3', $r->uriPath());
        self::assertNull($r->header('x'));
    }

    /** @param array<string, mixed> $a */
    private static function sorted(array $a): array
    {
        ksort($a);
        return $a;
    }
}
